import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { kernelFlavour } from "@edge-audio/dsp";
import { benchClip, type Contender, fftContenders, logMelContenders } from "./contenders.js";

const require = createRequire(import.meta.url);

interface BenchTarget {
  name: string;
  hz: number;
  stats: { rme: number; mean: number; sample: number[] };
}
interface BenchSuite {
  add(name: string, fn: () => void, opts?: object): BenchSuite;
  on(event: string, fn: (e: { target: BenchTarget }) => void): BenchSuite;
  run(opts?: object): BenchSuite;
}
const Benchmark = require("benchmark") as { Suite: new (name: string) => BenchSuite };

export interface Row {
  name: string;
  note: string;
  msPerOp: number;
  rmePct: number;
  samples: number;
  /** How many times slower than our SIMD path (our time = 1). */
  relative: number;
}

function runSuite(title: string, contenders: Contender[], maxTime: number): Row[] {
  const rows: Row[] = [];
  const suite = new Benchmark.Suite(title);
  for (const c of contenders) suite.add(c.name, c.run, { maxTime, minSamples: 5 });
  suite.on("cycle", (e) => {
    const t = e.target;
    const c = contenders.find((x) => x.name === t.name)!;
    rows.push({
      name: t.name,
      note: c.note,
      msPerOp: 1000 / t.hz,
      rmePct: t.stats.rme,
      samples: t.stats.sample.length,
      relative: 0,
    });
    process.stderr.write(`  ${t.name}: ${(1000 / t.hz).toFixed(4)} ms/op ±${t.stats.rme.toFixed(1)}%\n`);
  });
  suite.run({ async: false });
  const base = rows[0]!.msPerOp;
  for (const r of rows) r.relative = r.msPerOp / base;
  return rows;
}

function table(title: string, rows: Row[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  const lines = [
    title,
    `${"implementation".padEnd(w)}  ${"ms/op".padStart(10)}  ${"±%".padStart(5)}  ${"x ours".padStart(7)}`,
  ];
  for (const r of rows)
    lines.push(
      `${r.name.padEnd(w)}  ${r.msPerOp.toFixed(r.msPerOp < 1 ? 4 : 2).padStart(10)}  ${r.rmePct.toFixed(1).padStart(5)}  ${r.relative.toFixed(2).padStart(7)}`,
    );
  return lines.join("\n");
}

export async function runDspBench(opts: { quick: boolean; out: string }): Promise<void> {
  const maxTime = opts.quick ? 0.4 : 3;
  const env = {
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadAvgAtStart: loadavg(),
    kernel: kernelFlavour(),
    date: new Date().toISOString(),
  };
  console.log(
    `dsp benchmarks: Node ${env.node}, ${env.cores} x ${env.cpu}, load ${env.loadAvgAtStart.map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log("single thread; the machine is shared, so compare the ratios measured in the same run.\n");

  const { contenders: fft, maxRelError } = await fftContenders(2048);
  const fftRows = runSuite("real FFT, 2048 points", fft, maxTime);
  console.log(table("real FFT, 2048 points (one transform)", fftRows));

  const clip = benchClip();
  const melRows = runSuite("log-Mel 30 s", logMelContenders(clip.samples), maxTime);
  console.log();
  console.log(
    table(`log-Mel spectrogram of a 30 s clip, 128 bands, nFft 2048, hop 512 (${clip.source})`, melRows),
  );

  const find = (rows: Row[], prefix: string) => rows.find((r) => r.name.startsWith(prefix))!;
  const ours = melRows[0]!;
  const pffft = find(fftRows, "@echogarden/pffft-wasm (wasm SIMD)");
  const goals = {
    logMelMs: { value: ours.msPerOp, goal: "<= 10 ms", met: ours.msPerOp <= 10 },
    vsMeyda: {
      value: find(melRows, "Meyda").msPerOp / ours.msPerOp,
      goal: ">= 5x faster",
      met: find(melRows, "Meyda").msPerOp / ours.msPerOp >= 5,
    },
    vsEssentia: {
      value: find(melRows, "essentia").msPerOp / ours.msPerOp,
      goal: ">= 2x faster",
      met: find(melRows, "essentia").msPerOp / ours.msPerOp >= 2,
    },
    fftVsPffft: {
      value: fftRows[0]!.msPerOp / pffft.msPerOp,
      goal: "our time <= 1.5x pffft-wasm SIMD",
      met: fftRows[0]!.msPerOp / pffft.msPerOp <= 1.5,
    },
    fftVsFftJs: {
      value: find(fftRows, "fft.js").msPerOp / fftRows[0]!.msPerOp,
      goal: "(info) x faster than fft.js",
      met: true,
    },
  };
  console.log("\ngoals:");
  console.log(
    `  log-Mel 30 s: ${goals.logMelMs.value.toFixed(2)} ms (goal ${goals.logMelMs.goal}) ${goals.logMelMs.met ? "met" : "NOT met"}`,
  );
  console.log(
    `  vs Meyda: ${goals.vsMeyda.value.toFixed(1)}x faster (goal ${goals.vsMeyda.goal}) ${goals.vsMeyda.met ? "met" : "NOT met"}`,
  );
  console.log(
    `  vs essentia.js: ${goals.vsEssentia.value.toFixed(1)}x faster (goal ${goals.vsEssentia.goal}) ${goals.vsEssentia.met ? "met" : "NOT met"}`,
  );
  console.log(
    `  FFT vs pffft-wasm SIMD: ${goals.fftVsPffft.value.toFixed(2)}x its time (goal ${goals.fftVsPffft.goal}) ${goals.fftVsPffft.met ? "met" : "NOT met"}`,
  );
  console.log(`  FFT vs fft.js: ${goals.fftVsFftJs.value.toFixed(1)}x faster`);
  env.loadAvgAtStart = env.loadAvgAtStart.map((v) => Math.round(v * 100) / 100);
  const result = {
    env,
    loadAvgAtEnd: loadavg(),
    clip: clip.source,
    fft: fftRows,
    fftMaxRelError: maxRelError,
    logMel: melRows,
    goals,
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${opts.out}`);
}
