/**
 * Peak resident memory and start-up of `pi-runner` on ResNet-152 model files, against the
 * TensorFlow.js wasm backend running the same weights in the same run (issue: the study needed
 * 2.7-4.5 GB on a Raspberry Pi 4, mostly the TensorFlow runtime).
 *
 *   npm run bench:memory -w @edge-audio/bench [-- --depth 152 --variants fp32,fp16,int8 --json]
 *
 * Every measurement runs in a fresh child process; peak memory is VmHWM of that process.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { defaultMelConfig, encodeWav } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";
import { PI_RUNNER, QUANTIZE_CLI, REPO_ROOT } from "./paths.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = REPO_ROOT;
const runner = PI_RUNNER;
const quantizeCli = QUANTIZE_CLI;

const HELP = `usage: npm run bench:memory -w @edge-audio/bench [-- options]

Peak resident memory (VmHWM) and start-up to first result of pi-runner on a ResNet model with
random weights, against the tfjs wasm backend running the same weights, each in its own process.

  --depth N          ResNet depth (default 152)
  --variants LIST    fp32 and any quantizer modes (default fp32,fp16,dynamic,int8); variants the
                     quantizer cannot make yet are reported as not available
  --clips N          synthetic 10 s clips evaluated per process (default 4)
  --threads N        engine threads (default 1)
  --out DIR          where models, clips and results go (default out/runner-memory)
  --json             print JSON instead of the table`;

const { values } = parseArgs({
  options: {
    depth: { type: "string", default: "152" },
    variants: { type: "string", default: "fp32,fp16,dynamic,int8" },
    clips: { type: "string", default: "4" },
    threads: { type: "string", default: "1" },
    out: { type: "string", default: join(root, "out/runner-memory") },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(HELP);
  process.exit(0);
}
const depth = Number(values.depth);
const out = resolve(values.out);
const data = join(out, "data");
mkdirSync(out, { recursive: true });
const LABELS = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"];

function log(msg: string) {
  process.stderr.write(`${msg}\n`);
}

interface Child {
  stdout: string;
  stderr: string;
  code: number | null;
  firstLineMs: number;
  wallMs: number;
}

function runChild(args: string[]): Promise<Child> {
  return new Promise((res) => {
    const t0 = performance.now();
    let firstLineMs = 0;
    let stdout = "";
    let stderr = "";
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    p.stdout.on("data", (d) => {
      if (!firstLineMs && String(d).includes("\n")) firstLineMs = performance.now() - t0;
      stdout += d;
    });
    p.stderr.on("data", (d) => {
      stderr += d;
    });
    p.on("close", (code) => res({ stdout, stderr, code, firstLineMs, wallMs: performance.now() - t0 }));
  });
}

// --- inputs ------------------------------------------------------------------------------------
const clipPaths: string[] = [];
for (let i = 0; i < Number(values.clips); i++) {
  const label = LABELS[i % LABELS.length]!;
  mkdirSync(join(data, label), { recursive: true });
  const path = join(data, label, `${label}.0000${i}.wav`);
  if (!existsSync(path)) {
    const x = new Float32Array(22050 * 10);
    for (let t = 0; t < x.length; t++) {
      const s = t / 22050;
      x[t] = 0.3 * Math.sin(2 * Math.PI * (110 * (i + 1)) * s) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 2 * s));
    }
    writeFileSync(path, encodeWav([x], 22050));
  }
  clipPaths.push(path);
}

// start-up is measured on one 3 s clip: a single crop, so it is load + one inference
const shortClip = join(out, "short-3s.wav");
if (!existsSync(shortClip)) {
  const x = new Float32Array(22050 * 3);
  for (let t = 0; t < x.length; t++) x[t] = 0.3 * Math.sin((2 * Math.PI * 330 * t) / 22050);
  writeFileSync(shortClip, encodeWav([x], 22050));
}

const fp32 = join(out, `resnet${depth}-fp32.eam`);
if (!existsSync(fp32)) {
  log(`writing ${fp32} (random weights) ...`);
  const c = createRandomModel({ depth: depth as 152, numClasses: 10 }, 1);
  c.labels = LABELS;
  c.mel = defaultMelConfig() as unknown as Record<string, number | string | boolean | null>;
  writeModel(fp32, c);
}

interface Row {
  variant: string;
  runtime: string;
  fileMB: number;
  peakRssMB?: number;
  goalMB?: number;
  msPerClip?: number;
  msLoad?: number;
  firstResultMs?: number;
  note?: string;
}
const rows: Row[] = [];
const fileMB = (p: string) => statSync(p).size / 2 ** 20;

// --- node itself -------------------------------------------------------------------------------
const bare = await runChild([
  "-e",
  'console.log(/VmHWM:\\s+(\\d+)/.exec(require("fs").readFileSync("/proc/self/status","utf8"))[1]/1024)',
]);
const nodeBaselineMB = Number(bare.stdout.trim());

// --- pi-runner on each variant ----------------------------------------------------------------
for (const variant of values.variants.split(",").map((v) => v.trim())) {
  let model = fp32;
  if (variant !== "fp32") {
    model = join(out, `resnet${depth}-${variant}.eam`);
    if (!existsSync(model)) {
      if (!existsSync(quantizeCli)) {
        rows.push({
          variant,
          runtime: "pi-runner",
          fileMB: Number.NaN,
          note: "not available: the quantizer command line is not built",
        });
        continue;
      }
      log(`quantizing ${variant} ...`);
      const q = await runChild([
        quantizeCli,
        "--model",
        fp32,
        "--mode",
        variant,
        "--out",
        model,
        "--calib",
        data,
      ]);
      if (q.code !== 0) {
        rows.push({
          variant,
          runtime: "pi-runner",
          fileMB: Number.NaN,
          note: `not available: quantizer failed: ${q.stderr.trim().split("\n").at(-1)}`,
        });
        continue;
      }
    }
  }
  log(`pi-runner eval ${variant} ...`);
  const ev = await runChild([
    runner,
    "eval",
    "--model",
    model,
    "--data",
    data,
    "--json",
    "--threads",
    values.threads,
  ]);
  if (ev.code !== 0) {
    rows.push({
      variant,
      runtime: "pi-runner",
      fileMB: fileMB(model),
      note: `not available: ${ev.stderr.trim().split("\n").at(-1)}`,
    });
    continue;
  }
  const r = JSON.parse(ev.stdout.trim().split("\n").at(-1)!);
  const first = await runChild([
    runner,
    "classify",
    "--model",
    model,
    "--threads",
    values.threads,
    shortClip,
  ]);
  rows.push({
    variant,
    runtime: "pi-runner (engine)",
    fileMB: fileMB(model),
    peakRssMB: r.peakRssMB,
    // The issue's goal in its own units (1.25 x file size + 50 MB, decimal), expressed in MiB.
    goalMB: (1.25 * statSync(model).size + 50e6) / 2 ** 20,
    msPerClip: r.msPerClip,
    msLoad: r.msLoad,
    firstResultMs: first.firstLineMs,
  });
}

// --- tfjs wasm baseline, same FP32 weights -----------------------------------------------------
log("tfjs wasm baseline ...");
const tf = await runChild([join(here, "tfjs-eval.js"), fp32, ...clipPaths]);
const tfFirst = await runChild([join(here, "tfjs-eval.js"), fp32, shortClip]);
if (tf.code === 0) {
  const r = JSON.parse(tf.stdout.trim().split("\n").at(-1)!);
  rows.push({
    variant: "fp32",
    runtime: "tfjs wasm backend",
    fileMB: fileMB(fp32),
    peakRssMB: r.peakRssMB,
    msPerClip: r.msPerClip,
    msLoad: r.msLoad,
    firstResultMs: tfFirst.firstLineMs,
  });
} else
  rows.push({
    variant: "fp32",
    runtime: "tfjs wasm backend",
    fileMB: fileMB(fp32),
    note: `failed: ${tf.stderr.trim().split("\n").at(-1)}`,
  });

const tfRss = rows.find((r) => r.runtime.startsWith("tfjs"))?.peakRssMB;
const f = (x: number | undefined, d = 0) => (x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d));
const table = [
  `ResNet-${depth}, ${clipPaths.length} clips of 10 s (synthetic), threads ${values.threads}; Node alone: ${nodeBaselineMB.toFixed(0)} MiB`,
  "",
  "| variant | runtime | file MiB | peak RSS MiB | goal MiB (1.25 x file + 50 MB) | vs tfjs RSS | ms per clip | load ms | start-up to first result ms (3 s clip) |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...rows.map((r) =>
    r.note
      ? `| ${r.variant} | ${r.runtime} | ${f(r.fileMB, 1)} | ${r.note} | | | | | |`
      : `| ${r.variant} | ${r.runtime} | ${f(r.fileMB, 1)} | ${f(r.peakRssMB)} | ${r.goalMB ? `${f(r.goalMB)} ${r.peakRssMB! <= r.goalMB ? "(met)" : "(missed)"}` : ""} | ${tfRss && r.peakRssMB && !r.runtime.startsWith("tfjs") ? `${(r.peakRssMB / tfRss).toFixed(2)}x` : ""} | ${f(r.msPerClip)} | ${f(r.msLoad)} | ${f(r.firstResultMs)} |`,
  ),
  "",
  "Study (TensorFlow on a Raspberry Pi 4): 2.7-4.5 GB.",
].join("\n");
const result = {
  depth,
  threads: Number(values.threads),
  clips: clipPaths.length,
  nodeBaselineMB,
  rows,
  date: new Date().toISOString(),
};
const resultsDir = resolve(here, "../../results");
mkdirSync(resultsDir, { recursive: true });
writeFileSync(join(resultsDir, "runner-memory.json"), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(resultsDir, "runner-memory.md"), `${table}\n`);
console.log(values.json ? JSON.stringify(result) : table);
