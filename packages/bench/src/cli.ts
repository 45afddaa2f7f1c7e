#!/usr/bin/env node
// Benchmark entry point: `node dist/cli.js [SUITE...] [--quick] [--out FILE] [suite options]`.
// Each suite lives in its own folder under src/ and registers here. No suite: dsp.

interface SuiteArgs {
  quick: boolean;
  out?: string;
  /** Every argument, for suites with options of their own. */
  argv: string[];
}

const SUITES: Record<string, { about: string; run: (o: SuiteArgs) => Promise<void> }> = {
  dsp: {
    about: "real FFT (2048) and 30 s log-Mel vs fft.js, pffft-wasm, Meyda, essentia.js",
    run: async (o) =>
      (await import("./dsp/run.js")).runDspBench({ quick: o.quick, out: o.out ?? "results/dsp.json" }),
  },
  resample: {
    about: "a mono song 44.1 and 48 -> 22.05 kHz vs sox, speex-wasm, libsamplerate-js, with alias levels",
    run: async (o) =>
      (await import("./dsp/resample.js")).runResampleBench({
        quick: o.quick,
        out: o.out ?? "results/resample.json",
      }),
  },
  compare: {
    about:
      "ResNet-152/50 on our engine (fp32, fp16, dynamic, int8) vs tfjs wasm/cpu/node and onnxruntime node/web",
    run: async (o) => (await import("./compare/cli.js")).compareCli(o.argv, o.quick, o.out),
  },
  "audio-in": {
    about: "pi-runner on MP3 vs WAV: peak memory on a 10-minute song, eval time over a folder (needs ffmpeg)",
    run: async (o) => (await import("./memory/audio-input.js")).audioInputSuite(o.argv, o.out),
  },
  kernels: {
    about:
      "engine kernels per family and dtype (benchmark.js): GFLOP/s, GOP/s and fraction of the wasm SIMD peak",
    run: async (o) => (await import("./engine/kernel-suite.js")).kernelSuite(o.argv, o.quick, o.out),
  },
};

/** Options that take a value, so that their values are not read as suite names. */
const VALUE_OPTIONS = new Set([
  "--out",
  "--depth",
  "--threads",
  "--runtimes",
  "--variants",
  "--rounds",
  "--engine-node-flags",
  "--runs",
  "--width",
  "--height",
  "--frames",
  "--seed",
  "--work",
  "--data",
  "--limit",
  "--minutes",
]);

const HELP = `usage: node dist/cli.js [SUITE...] [--quick] [--out FILE] [suite options]   (no suite: dsp)

suites:
${Object.entries(SUITES)
  .map(([k, v]) => `  ${k.padEnd(8)} ${v.about}`)
  .join("\n")}

options:
  --quick      short timing runs (smoke test, noisy figures)
  --out FILE   JSON result file (default results/SUITE.json)
  -h, --help   this help

compare options:
  --depth 152,50        ResNet depths          --threads 1,2        thread counts
  --runtimes LIST       engine,tfjs-wasm,tfjs-cpu,tfjs-node,onnxruntime-node,onnxruntime-web
  --variants LIST       engine variants besides fp32 (default fp16,dynamic,int8; "none" for none;
                        also int8-tensor, mixed, int8-7bit (7-bit inputs), int8-7bit-relaxed,
                        fp32-fma, fp16-fma (the fp32/fp16 files on the fused multiply-add GEMMs;
                        fp16-fma needs fp16 in the list))
  --runs N              timed runs per row (default 20, at most 10 s; tfjs-cpu: 3)
  --rounds K            run every row K times interleaved, each in a new process; keep the lowest
                        median and report every process's median and their spread (default 1)
  --engine-node-flags "F..."   Node flags for the engine's processes (e.g. "--no-liftoff")
  --width W --height H --frames F --seed S    model width and crop (default 1, 128, 130, 1)
  --no-f64              skip the float64 reference    --work DIR   model files (default out/compare)

audio-in options:
  --data DIR            folder of <label>/*.wav (default ../shared/data/gtzan-mini)
  --limit N             clips for the eval comparison (default 40)   --minutes M   song length (default 10)
  --no-big              skip the eval ratio with a ResNet-152 int8

kernels options:
  --depth N             ResNet whose conv shapes are timed (default 152)`;

async function main(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(HELP);
    return 0;
  }
  const quick = argv.includes("--quick");
  const oi = argv.indexOf("--out");
  const out = oi >= 0 ? argv[oi + 1] : undefined;
  const names = argv.filter((a, i) => !a.startsWith("-") && !VALUE_OPTIONS.has(argv[i - 1] ?? ""));
  if (names.length === 0) names.push("dsp");
  for (const n of names)
    if (!SUITES[n]) {
      console.error(`bench: unknown suite '${n}' (known: ${Object.keys(SUITES).join(", ")})`);
      return 2;
    }
  for (const n of names) await SUITES[n]!.run({ quick, out, argv });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
