#!/usr/bin/env node
// Benchmark entry point: `node dist/cli.js SUITE... [--quick] [--out FILE]`.
// Each suite lives in its own folder under src/ and registers here.

const SUITES: Record<string, { about: string; run: (o: { quick: boolean; out?: string }) => Promise<void> }> =
  {
    dsp: {
      about: "real FFT (2048) and 30 s log-Mel vs fft.js, pffft-wasm, Meyda, essentia.js",
      run: async (o) =>
        (await import("./dsp/run.js")).runDspBench({ quick: o.quick, out: o.out ?? "results/dsp.json" }),
    },
  };

const HELP = `usage: node dist/cli.js SUITE... [--quick] [--out FILE]

suites:
${Object.entries(SUITES)
  .map(([k, v]) => `  ${k.padEnd(8)} ${v.about}`)
  .join("\n")}

options:
  --quick      short timing runs (smoke test, noisy figures)
  --out FILE   JSON result file (default results/SUITE.json)
  -h, --help   this help`;

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes("-h") || argv.includes("--help")) {
    console.log(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  const quick = argv.includes("--quick");
  const oi = argv.indexOf("--out");
  const out = oi >= 0 ? argv[oi + 1] : undefined;
  const names = argv.filter((a, i) => !a.startsWith("--") && !(oi >= 0 && i === oi + 1));
  for (const n of names)
    if (!SUITES[n]) {
      console.error(`bench: unknown suite '${n}' (known: ${Object.keys(SUITES).join(", ")})`);
      return 2;
    }
  for (const n of names) await SUITES[n]!.run({ quick, out });
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
