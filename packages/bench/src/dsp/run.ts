import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { benchClip, type Contender, fftContenders, logMelContenders } from "./contenders.js";
import { dspBenchEnvironment, loadAvgText } from "./environment.js";

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
  /** How many times slower than our SIMD path (our time = 1), from the benchmark.js means. */
  relative: number;
  /** Fastest and median of repeated timed batches: less sensitive to other processes than the mean. */
  minMs: number;
  medianMs: number;
  /** minMs relative to our SIMD path's minMs. */
  relativeMin: number;
}

/** Times batches of calls with performance.now; returns per-call min and median over the batches. */
function batchTimes(fn: () => void, budgetMs: number): { minMs: number; medianMs: number } {
  let t0 = performance.now();
  fn();
  const once = Math.max(performance.now() - t0, 1e-4);
  const perBatch = Math.max(1, Math.min(10_000, Math.floor(2 / once))); // batches of about 2 ms
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || (performance.now() - start < budgetMs && times.length < 200)) {
    t0 = performance.now();
    for (let i = 0; i < perBatch; i++) fn();
    times.push((performance.now() - t0) / perBatch);
  }
  times.sort((a, b) => a - b);
  return { minMs: times[0]!, medianMs: times[Math.floor(times.length / 2)]! };
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
      ...batchTimes(c.run, maxTime * 500),
      relativeMin: 0,
    });
    process.stderr.write(`  ${t.name}: ${(1000 / t.hz).toFixed(4)} ms/op ±${t.stats.rme.toFixed(1)}%\n`);
  });
  suite.run({ async: false });
  const base = rows[0]!.msPerOp;
  const baseMin = rows[0]!.minMs;
  for (const r of rows) {
    r.relative = r.msPerOp / base;
    r.relativeMin = r.minMs / baseMin;
  }
  return rows;
}

function table(title: string, rows: Row[]): string {
  const w = Math.max(...rows.map((r) => r.name.length));
  const lines = [
    title,
    `${"implementation".padEnd(w)}  ${"mean ms".padStart(10)}  ${"±%".padStart(5)}  ${"x ours".padStart(7)}  ${"min ms".padStart(10)}  ${"x ours".padStart(7)}`,
  ];
  for (const r of rows)
    lines.push(
      `${r.name.padEnd(w)}  ${r.msPerOp.toFixed(r.msPerOp < 1 ? 4 : 2).padStart(10)}  ${r.rmePct.toFixed(1).padStart(5)}  ${r.relative.toFixed(2).padStart(7)}  ${r.minMs.toFixed(r.minMs < 1 ? 4 : 2).padStart(10)}  ${r.relativeMin.toFixed(2).padStart(7)}`,
    );
  return lines.join("\n");
}

export async function runDspBench(opts: { quick: boolean; out: string }): Promise<void> {
  const maxTime = opts.quick ? 0.4 : 3;
  const env = dspBenchEnvironment();
  console.log(`dsp benchmarks: Node ${env.node}, ${env.cores} x ${env.cpu}, load ${env.loadAvgAtStart}`);
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
  const meyda = find(melRows, "Meyda");
  const essentia = find(melRows, "essentia");
  const fftJs = find(fftRows, "fft.js");
  const ourFft = fftRows[0]!;
  // each goal from the benchmark.js means and from the fastest batches (less disturbed by other load)
  const goal = (text: string, mean: number, min: number, ok: (v: number) => boolean) => ({
    goal: text,
    mean,
    min,
    metByMean: ok(mean),
    metByMin: ok(min),
  });
  const goals = {
    logMelMs: goal("30 s log-Mel in <= 10 ms", ours.msPerOp, ours.minMs, (v) => v <= 10),
    vsMeyda: goal(
      ">= 5x faster than Meyda",
      meyda.msPerOp / ours.msPerOp,
      meyda.minMs / ours.minMs,
      (v) => v >= 5,
    ),
    vsEssentia: goal(
      ">= 2x faster than essentia.js",
      essentia.msPerOp / ours.msPerOp,
      essentia.minMs / ours.minMs,
      (v) => v >= 2,
    ),
    fftVsPffft: goal(
      "FFT time <= 1.5x pffft-wasm SIMD",
      ourFft.msPerOp / pffft.msPerOp,
      ourFft.minMs / pffft.minMs,
      (v) => v <= 1.5,
    ),
    fftVsFftJs: goal(
      "(info) speed-up over fft.js",
      fftJs.msPerOp / ourFft.msPerOp,
      fftJs.minMs / ourFft.minMs,
      () => true,
    ),
  };
  console.log("\ngoals (mean of benchmark.js | fastest batch):");
  for (const g of Object.values(goals))
    console.log(
      `  ${g.goal.padEnd(34)} ${g.mean.toFixed(2).padStart(8)} ${g.metByMean ? "met" : "NOT met"} | ${g.min.toFixed(2).padStart(8)} ${g.metByMin ? "met" : "NOT met"}`,
    );
  const result = {
    env,
    loadAvgAtEnd: loadAvgText(),
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
