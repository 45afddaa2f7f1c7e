import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Runner, RunnerFactory } from "./runner.js";

export interface TimingStats {
  runs: number;
  medianMs: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  p10Ms: number;
  p90Ms: number;
  /** Interquartile range (p75 - p25). */
  iqrMs: number;
}

/** Linear-interpolated quantile of sorted samples (q in [0, 1]). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error("quantile of no samples");
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samplesMs: readonly number[]): TimingStats {
  const s = [...samplesMs].sort((a, b) => a - b);
  return {
    runs: s.length,
    medianMs: quantile(s, 0.5),
    meanMs: s.reduce((a, b) => a + b, 0) / s.length,
    minMs: s[0]!,
    maxMs: s[s.length - 1]!,
    p10Ms: quantile(s, 0.1),
    p90Ms: quantile(s, 0.9),
    iqrMs: quantile(s, 0.75) - quantile(s, 0.25),
  };
}

export interface MeasureOptions {
  /** Untimed runs first (JIT, allocator, thread pool warm-up). Default 3. */
  warmup?: number;
  /** Timed runs. Default 20. */
  runs?: number;
  /** Stop timing early once this much time has been spent (at least `minRuns` runs). */
  maxTimeMs?: number;
  /** Default 5. */
  minRuns?: number;
}

export interface MeasureResult {
  name: string;
  threads: number;
  stats: TimingStats;
  samplesMs: number[];
  /** Output of the last run. */
  output: Float32Array;
}

/** Times `runner.run(input)` after warm-up. The runner must already be loaded. */
export async function measureRunner(
  runner: Runner,
  input: Float32Array,
  options: MeasureOptions = {},
): Promise<MeasureResult> {
  const { warmup = 3, runs = 20, maxTimeMs = Number.POSITIVE_INFINITY, minRuns = 5 } = options;
  let output: Float32Array = new Float32Array(0);
  for (let i = 0; i < warmup; i++) output = await runner.run(input);
  const samplesMs: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    output = await runner.run(input);
    samplesMs.push(performance.now() - t);
    if (samplesMs.length >= minRuns && performance.now() - start > maxTimeMs) break;
  }
  return { name: runner.name, threads: runner.threads, stats: summarize(samplesMs), samplesMs, output };
}

/** What a child process needs to rebuild a runner and time it. JSON only. */
export interface ChildMeasureRequest {
  /** Module (path or file URL of compiled JS) exporting the factory. */
  module: string;
  /** Name of the exported `RunnerFactory`. */
  factory: string;
  /** Options passed to the factory. */
  options: unknown;
  /** The crop: a raw little-endian float32 file, or seeded normal noise of a given length. */
  input: { file: string } | { random: number; seed?: number };
  measure?: MeasureOptions;
}

export interface ChildMeasureResult {
  name: string;
  threads: number;
  loadMs: number;
  stats: TimingStats;
  /**
   * Peak resident set size of the child: VmHWM of /proc/self/status on Linux, else
   * process.resourceUsage().maxRSS. (On Linux, maxRSS after fork + exec also counts the parent's
   * resident pages at fork time, so a big parent inflates it; VmHWM belongs to the new image only.)
   */
  peakRssBytes: number;
  /** process.resourceUsage().maxRSS in bytes, as reported (see `peakRssBytes`). */
  maxRssBytes: number;
  /** Peak RSS before the runner was loaded (Node itself plus the imports). */
  baseRssBytes: number;
  /** Peak RSS after load, before the timed runs. */
  loadedRssBytes: number;
  /** OS threads of the child after load (Linux only, else null): shows worker pools really started. */
  osThreads: number | null;
  output: number[];
}

const RESULT_MARK = "@@measure-result ";

function thisModuleJs(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith(".js")) return here;
  // Running from TypeScript sources (tests): the child needs the compiled module.
  const dist = join(dirname(here), "..", "dist", "measure.js");
  if (!existsSync(dist))
    throw new Error(`measureInChild needs the compiled ${dist}: run the package build first`);
  return dist;
}

/**
 * Runs one runner in a fresh Node process and returns its timings and peak RSS. The process
 * holds only that runner, so its peak RSS is the memory cost of the backend plus model plus Node.
 */
export async function measureInChild(
  request: ChildMeasureRequest,
  opts: { timeoutMs?: number; execArgv?: string[] } = {},
): Promise<ChildMeasureResult> {
  const { timeoutMs = 600_000, execArgv = [] } = opts;
  const child = spawn(process.execPath, [...execArgv, thisModuleJs(), "--measure-child"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  // A child that exits before reading its request (a bad Node flag) closes the pipe: its exit
  // code and stderr below say why, so the write's EPIPE is not an error of its own.
  child.stdin.on("error", () => {});
  child.stdin.end(JSON.stringify(request));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c));
  }).finally(() => clearTimeout(timer));
  const line = stdout.split("\n").find((l) => l.startsWith(RESULT_MARK));
  if (code !== 0 || !line) {
    throw new Error(
      `measure child failed (exit ${code}): ${stderr.trim().slice(-2000) || stdout.slice(-2000)}`,
    );
  }
  return JSON.parse(line.slice(RESULT_MARK.length)) as ChildMeasureResult;
}

async function readInput(input: ChildMeasureRequest["input"]): Promise<Float32Array> {
  if ("file" in input) {
    const b = await readFile(input.file);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  const { Rng } = await import("./onnx/random.js");
  const rng = new Rng(input.seed ?? 7);
  const x = new Float32Array(input.random);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  return x;
}

/** Peak RSS of this process image in bytes (VmHWM where /proc exists, else maxRSS). */
export function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

function threadCount(): number | null {
  try {
    const m = /Threads:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function childMain(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const req = JSON.parse(Buffer.concat(chunks).toString()) as ChildMeasureRequest;
  const rss = peakRss;
  const modUrl = req.module.startsWith("file:") ? req.module : pathToFileURL(req.module).href;
  const mod = (await import(modUrl)) as Record<string, unknown>;
  const factory = mod[req.factory] as RunnerFactory | undefined;
  if (typeof factory !== "function")
    throw new Error(`${req.module} has no exported factory "${req.factory}"`);
  const input = await readInput(req.input);
  const baseRssBytes = rss();
  const runner = await factory(req.options);
  const t0 = performance.now();
  await runner.load();
  const loadMs = performance.now() - t0;
  const loadedRssBytes = rss();
  const osThreads = threadCount();
  const r = await measureRunner(runner, input, req.measure);
  const peakRssBytes = rss();
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  await runner.dispose();
  const result: ChildMeasureResult = {
    name: r.name,
    threads: r.threads,
    loadMs,
    stats: r.stats,
    peakRssBytes,
    maxRssBytes,
    baseRssBytes,
    loadedRssBytes,
    osThreads,
    output: Array.from(r.output),
  };
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
}

if (
  process.argv[2] === "--measure-child" &&
  process.argv[1] &&
  fileURLToPath(import.meta.url) === process.argv[1]
) {
  childMain().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
