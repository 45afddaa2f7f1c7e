#!/usr/bin/env node
/**
 * Times given `.tflite` files in LiteRT.js side by side: each file in a fresh child process (as
 * the compare suite's rows), the same seeded crop, the files in turn and in reverse order on
 * every second round, the 1-minute load average before and after each row. For comparing two
 * exports of one model (e.g. fp32 against fp16, or a file before and after a writer change).
 *
 *   node dist/litert/time-files.js A.tflite B.tflite ... [--dims 1,128,130,1] [--threads 1]
 *        [--runs 10] [--rounds 2] [--json]
 */
import { existsSync, statSync } from "node:fs";
import { loadavg } from "node:os";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { type ChildMeasureResult, measureInChild } from "../measure.js";
import { LITERT_EXEC_ARGV } from "./runtime.js";

const HELP = `usage: node dist/litert/time-files.js A.tflite B.tflite ... [--dims 1,128,130,1]
       [--threads 1] [--runs 10] [--rounds 2] [--json]

Times each .tflite file in LiteRT.js in its own child process (1 thread: compat build, more:
threaded build), 3 warm-up runs then --runs timed runs on one seeded crop of --dims, for --rounds
rounds (every second round in reverse order). Run it under the machine lock's exclusive mode.
`;

export interface FileTiming {
  file: string;
  round: number;
  threads: number;
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  runs: number;
  loadMs: number;
  loadAvgBefore: number;
  loadAvgAfter: number;
}

function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} ${text}: expected a whole number >= 1`);
  return n;
}

function parseDims(text: string): number[] {
  const dims = text.split(",").map(Number);
  if (dims.length !== 4 || dims.some((d) => !Number.isInteger(d) || d < 1) || dims[0] !== 1)
    throw new Error(`--dims ${text}: expected the input shape as 1,H,W,C (e.g. 1,128,130,1)`);
  return dims;
}

function checkFile(file: string): void {
  if (!existsSync(file)) throw new Error(`${file}: no such file; pass .tflite files`);
  if (!statSync(file).isFile()) throw new Error(`${file}: is not a file; pass .tflite files`);
}

async function timeFile(
  file: string,
  dims: number[],
  threads: number,
  runs: number,
): Promise<ChildMeasureResult> {
  const build = threads > 1 ? "threaded" : "compat";
  return measureInChild(
    {
      module: new URL("./runner.js", import.meta.url).href,
      factory: "createLiteRtRunner",
      options: { modelPath: file, inputDims: dims, threads, build, name: basename(file) },
      input: { random: dims.reduce((a, b) => a * b, 1), seed: 7 },
      measure: { warmup: 3, runs, minRuns: runs },
    },
    { execArgv: LITERT_EXEC_ARGV[build] },
  );
}

/** The error line of a failed child's output (its stderr also holds stack frames and LiteRT logs). */
function childError(message: string): string {
  const lines = message.split("\n").map((l) => l.trim());
  return lines.filter((l) => /^\w*Error\b/.test(l)).at(-1) ?? lines.at(0) ?? message;
}

function markdown(rows: FileTiming[]): string {
  const lines = [
    "| file | round | threads | median ms | p10-p90 ms | runs | load ms | load avg |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of rows)
    lines.push(
      `| ${basename(r.file)} | ${r.round} | ${r.threads} | ${r.medianMs.toFixed(1)} | ${r.p10Ms.toFixed(1)}-${r.p90Ms.toFixed(1)} | ${r.runs} | ${r.loadMs.toFixed(0)} | ${r.loadAvgBefore.toFixed(2)}-${r.loadAvgAfter.toFixed(2)} |`,
    );
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      dims: { type: "string" },
      threads: { type: "string" },
      runs: { type: "string" },
      rounds: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new Error("no .tflite file given (see --help)");
  for (const f of positionals) checkFile(f);
  const dims = parseDims(values.dims ?? "1,128,130,1");
  const threads = positiveInt("threads", values.threads, 1);
  const runs = positiveInt("runs", values.runs, 10);
  const rounds = positiveInt("rounds", values.rounds, 2);
  const rows: FileTiming[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 ? positionals : [...positionals].reverse();
    for (const file of order) {
      const before = loadavg()[0]!;
      const r = await timeFile(file, dims, threads, runs).catch((e: Error) => {
        throw new Error(`${file}: LiteRT.js could not load or run it (${childError(e.message)})`);
      });
      rows.push({
        file,
        round,
        threads,
        medianMs: r.stats.medianMs,
        p10Ms: r.stats.p10Ms,
        p90Ms: r.stats.p90Ms,
        runs: r.stats.runs,
        loadMs: r.loadMs,
        loadAvgBefore: before,
        loadAvgAfter: loadavg()[0]!,
      });
      process.stderr.write(`${basename(file)}: ${r.stats.medianMs.toFixed(1)} ms\n`);
    }
  }
  process.stdout.write(values.json ? `${JSON.stringify({ rows }, null, 2)}\n` : `${markdown(rows)}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`time-files: ${e.message}\n`);
    process.exit(2);
  },
);
