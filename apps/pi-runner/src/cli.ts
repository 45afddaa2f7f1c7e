#!/usr/bin/env node
/**
 * pi-runner: classify audio on the device with @edge-audio/dsp and @edge-audio/engine-wasm only.
 */
import "./heap.js";
import { statSync } from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { Classifier, RunnerError, type WindowResult } from "./classifier.js";
import { type Clip, clipId, DatasetError, listClips } from "./dataset.js";
import { checkInput, readStreamInput } from "./input.js";
import { collectGarbage, peakRssBytes } from "./memory.js";
import { evaluate, formatConfusion } from "./metrics.js";
import { Progress } from "./progress.js";
import { WavStreamError } from "./wav-stream.js";

const LIMIT_HELP = `  --max-memory MIB refuse models needing more memory (default 1024)
  --max-work GOPS  refuse models needing more work per crop, in 10^9 operations (default 50)`;
const LIMIT_OPTIONS = { "max-memory": { type: "string" }, "max-work": { type: "string" } } as const;

/** The engine's load limits from --max-memory (MiB) and --max-work (10^9 operations per crop). */
function limitOpts(v: Record<string, unknown>): { maxMemoryBytes?: number; maxWorkPerCrop?: number } {
  const mem = intOpt(v["max-memory"], "max-memory");
  const work = v["max-work"] === undefined ? undefined : Number(v["max-work"]);
  if (work !== undefined && !(work > 0))
    throw new UsageError(`--max-work must be a number > 0, got "${v["max-work"]}"`);
  return { maxMemoryBytes: mem && mem * 2 ** 20, maxWorkPerCrop: work && work * 1e9 };
}

const HELP: Record<string, string> = {
  main: `pi-runner: audio classification on the device, without TensorFlow.

usage: pi-runner <command> [options]

commands:
  classify --model M.eam FILE...   classify audio files (or - for a WAV stream on stdin)
  eval --model M.eam --data DIR    accuracy, confusion matrix, speed and memory over a folder
  info M.eam                       what a model file holds

Run "pi-runner <command> --help" for the options of a command.`,
  classify: `usage: pi-runner classify --model M.eam [options] FILE... | -

Prints one JSON line per file: file, label, top-k probabilities, milliseconds for decoding,
features and inference. "-" reads a stream from standard input (WAV at the model's rate, or
MP3/FLAC, resampled) and prints one JSON line per window of the model's crop length as the
audio arrives, e.g.
  arecord -f S16_LE -r 22050 -c 1 | pi-runner classify --model M.eam -

options:
  --model FILE     model file (.eam)                                   (required)
  --top K          probabilities to print per result (default 3)
  --threads N      engine threads (default: all cores)
  --stream         classify consecutive windows as the file is read (flat memory,
                   per-window top-dB); done anyway for files over 25 minutes ("mode" says which)
  --strict         refuse input that is not whole (truncated, damaged frames) instead of
                   classifying what is there with a warning
${LIMIT_HELP}
  -h, --help       this help`,
  eval: `usage: pi-runner eval --model M.eam --data DIR [options]

Classifies every clip of a folder in GTZAN layout (<label>/<file>) and reports clip accuracy,
the confusion matrix, per-class precision/recall/F1, milliseconds per clip, peak resident
memory and the model file size.

options:
  --model FILE     model file (.eam)                                   (required)
  --data DIR       folder of <label>/<audio> (genres/ and genres_original/ are found)
  --split NAME     all (default) or test: only the clips the model's metadata
                   (trainer.split) lists as held out at training time
  --limit N        evaluate at most N clips (after the split)
  --threads N      engine threads (default: all cores)
  --json           print one JSON object instead of the tables
  --strict         skip clips that are not whole (truncated, damaged frames) instead of
                   classifying what is there with a warning
${LIMIT_HELP}
  -h, --help       this help`,
  info: `usage: pi-runner info M.eam [--json] [--max-memory MIB] [--max-work GOPS]

Prints the architecture, labels, Mel configuration, provenance, tensors and memory plan of a
model file, after checking its header and every tensor checksum (as the engine's readModel does).`,
};

class UsageError extends Error {
  override name = "UsageError";
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") {
    console.log(HELP.main);
    return cmd ? 0 : 2;
  }
  if (!(cmd in HELP) || cmd === "main")
    throw new UsageError(`unknown command "${cmd}"; commands: classify, eval, info`);
  if (rest.includes("-h") || rest.includes("--help")) {
    console.log(HELP[cmd]);
    return 0;
  }
  if (cmd === "classify") return classify(rest);
  if (cmd === "eval") return evalCmd(rest);
  return info(rest);
}

function parse(args: string[], options: NonNullable<ParseArgsConfig["options"]>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function intOpt(v: unknown, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function requireModel(v: unknown): string {
  if (typeof v !== "string") throw new UsageError("--model M.eam is required");
  return v;
}

async function classify(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    model: { type: "string" },
    top: { type: "string" },
    threads: { type: "string" },
    stream: { type: "boolean" },
    strict: { type: "boolean" },
    ...LIMIT_OPTIONS,
  });
  const modelPath = requireModel(values.model);
  if (positionals.length === 0)
    throw new UsageError("give at least one audio file, or - to read a WAV stream from stdin");
  const k = intOpt(values.top, "top") ?? 3;
  const clf = await Classifier.open(modelPath, intOpt(values.threads, "threads"), limitOpts(values));
  collectGarbage();
  let failures = 0;
  try {
    for (const file of positionals) {
      if (file === "-") {
        failures += await classifyStdin(clf, k, values.strict === true);
        continue;
      }
      try {
        const r = await clf.classifyFile(file, {
          ...(values.stream ? { stream: true } : {}),
          strict: values.strict === true,
        });
        warn(r.warnings);
        console.log(
          JSON.stringify({
            file,
            label: r.label,
            top: r.top.slice(0, k).map((t) => ({ label: t.label, p: round(t.p, 5) })),
            seconds: round(r.seconds, 3),
            crops: r.crops,
            mode: r.mode,
            ms: {
              decode: round(r.msDecode, 2),
              features: round(r.msFeatures, 2),
              inference: round(r.msInference, 2),
            },
          }),
        );
      } catch (e) {
        failures++;
        console.log(JSON.stringify({ file, error: describe(e, file) }));
      }
      collectGarbage();
    }
  } finally {
    await clf.dispose();
  }
  return failures ? 1 : 0;
}

/** Input warnings go to stderr, one line each. */
function warn(lines: string[]): void {
  for (const l of lines) process.stderr.write(`warning: ${l}\n`);
}

async function classifyStdin(clf: Classifier, k: number, strict: boolean): Promise<number> {
  const emit = (w: WindowResult) =>
    console.log(
      JSON.stringify({
        file: "-",
        window: w.window,
        start: round(w.startSeconds, 3),
        end: round(w.endSeconds, 3),
        label: w.label,
        top: w.top.slice(0, k).map((t) => ({ label: t.label, p: round(t.p, 5) })),
        ms: { features: round(w.msFeatures, 2), inference: round(w.msInference, 2) },
      }),
    );
  const s = clf.stream(emit);
  const r = await readStreamInput(process.stdin, "standard input", clf.mel.sampleRate, (x) => s.push(x));
  const warnings = checkInput("standard input", r, strict);
  s.end();
  warn(warnings);
  const summary: Record<string, unknown> = { file: "-", end: true, samples: r.samples };
  if (r.trailingBytes)
    summary.warning = `stream stopped mid-sample (${r.trailingBytes} trailing bytes ignored)`;
  console.log(JSON.stringify(summary));
  return 0;
}

interface EvalRow {
  clip: Clip;
  predicted: string;
  ms: number;
}

async function evalCmd(args: string[]): Promise<number> {
  const { values } = parse(args, {
    model: { type: "string" },
    data: { type: "string" },
    split: { type: "string" },
    limit: { type: "string" },
    threads: { type: "string" },
    json: { type: "boolean" },
    strict: { type: "boolean" },
    ...LIMIT_OPTIONS,
  });
  const modelPath = requireModel(values.model);
  if (typeof values.data !== "string")
    throw new UsageError("--data DIR is required (a folder of <label>/<audio file>)");
  const split = values.split ?? "all";
  if (split !== "all" && split !== "test")
    throw new UsageError(`--split must be "all" or "test", got "${split}"`);
  const limit = intOpt(values.limit, "limit");
  const t0 = performance.now();
  const clf = await Classifier.open(modelPath, intOpt(values.threads, "threads"), limitOpts(values));
  const msLoad = performance.now() - t0;
  // the garbage of loading (header, plan) goes before the first clip
  collectGarbage();
  try {
    let clips = listClips(values.data);
    if (split === "test") {
      const held = heldOutClips(clf);
      if (!held) {
        throw new RunnerError(
          `${modelPath}: the model's metadata (trainer.split) lists no held-out clips, so --split test is unknown; use --split all`,
        );
      }
      clips = clips.filter((c) => held.has(c.id));
      if (clips.length === 0) {
        throw new RunnerError(
          `${values.data}: none of the ${held.size} held-out clips named by ${modelPath} is in this folder`,
        );
      }
    }
    if (limit) clips = clips.slice(0, limit);
    const unknown = [...new Set(clips.map((c) => c.label))].filter((l) => !clf.labels.includes(l));
    if (unknown.length) {
      throw new RunnerError(
        `${values.data}: label folder(s) ${unknown.join(", ")} are not classes of ${modelPath} (${clf.labels.join(", ")})`,
      );
    }
    const progress = new Progress(
      clips.length,
      "eval",
      process.stderr,
      !values.json || Boolean(process.stderr.isTTY),
    );
    const rows: EvalRow[] = [];
    const skipped: { file: string; reason: string }[] = [];
    for (const clip of clips) {
      const c0 = performance.now();
      try {
        const r = await clf.classifyFile(clip.path, { strict: values.strict === true });
        warn(r.warnings);
        rows.push({ clip, predicted: r.label, ms: performance.now() - c0 });
      } catch (e) {
        const reason = describe(e, clip.path);
        skipped.push({ file: clip.path, reason });
        process.stderr.write(`warning: skipped ${reason}\n`);
      }
      // the clip's buffers go before the next clip (see collectGarbage)
      collectGarbage();
      progress.tick();
    }
    if (rows.length === 0) throw new RunnerError(`${values.data}: no clip could be classified`);
    const e = evaluate(
      clf.labels,
      rows.map((r) => clf.labels.indexOf(r.clip.label)),
      rows.map((r) => clf.labels.indexOf(r.predicted)),
    );
    const msPerClip = rows.reduce((a, r) => a + r.ms, 0) / rows.length;
    const peakRssMB = peakRssBytes() / 2 ** 20;
    const modelBytes = statSync(modelPath).size;
    const report = {
      model: modelPath,
      data: values.data,
      split,
      clips: rows.length,
      skipped,
      accuracy: e.accuracy,
      msPerClip,
      msLoad,
      peakRssMB,
      modelBytes,
      threads: clf.model.info().threads,
      labels: e.labels,
      confusion: e.confusion,
      perClass: e.perClass,
    };
    if (values.json) {
      console.log(JSON.stringify(report));
    } else {
      console.log(`model       ${modelPath} (${(modelBytes / 2 ** 20).toFixed(1)} MiB)`);
      console.log(
        `data        ${values.data} (split ${split}: ${rows.length} clips, ${skipped.length} skipped)`,
      );
      console.log(`accuracy    ${(e.accuracy * 100).toFixed(1)} % (clip level, mean of crop probabilities)`);
      console.log(
        `speed       ${msPerClip.toFixed(1)} ms per clip (decode + features + inference), load ${msLoad.toFixed(0)} ms`,
      );
      console.log(`memory      ${peakRssMB.toFixed(1)} MiB peak resident`);
      console.log(`\n${formatConfusion(e)}\n`);
      console.log(`${"class".padEnd(12)} precision  recall  f1     support`);
      for (const c of e.perClass) {
        console.log(
          `${c.label.padEnd(12)} ${c.precision.toFixed(3).padStart(9)}  ${c.recall.toFixed(3).padStart(6)}  ${c.f1.toFixed(3)}  ${String(c.support).padStart(7)}`,
        );
      }
    }
  } finally {
    await clf.dispose();
  }
  return 0;
}

/**
 * Clip ids (`label/name`) held out at training time, as the trainer records them in the model's
 * metadata key `trainer.split` ({ description, seed, test: [...], val: [...] }).
 */
function heldOutClips(clf: Classifier): Set<string> | null {
  const split = clf.model.header.metadata.get("trainer.split") as { test?: unknown } | undefined;
  const v = split?.test;
  if (!Array.isArray(v) || v.length === 0) return null;
  return new Set(v.map((x) => clipId(String(x))));
}

async function info(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    json: { type: "boolean" },
    threads: { type: "string" },
    ...LIMIT_OPTIONS,
  });
  if (positionals.length !== 1) throw new UsageError("give exactly one model file: pi-runner info M.eam");
  const clf = await Classifier.open(positionals[0]!, intOpt(values.threads, "threads") ?? 1, {
    verify: true,
    ...limitOpts(values),
  });
  try {
    const i = clf.model.info();
    const h = clf.model.header;
    const doc = {
      file: positionals[0],
      format: i.formatVersion,
      fileBytes: i.fileBytes,
      arch: i.arch,
      labels: i.labels,
      input: i.input,
      output: i.output,
      mel: clf.mel,
      cropSeconds: clf.cropSeconds,
      params: i.params,
      macs: i.macs,
      ops: i.ops,
      memory: {
        weightBytes: i.weightBytes,
        arenaBytes: i.arenaBytes,
        peakLiveBytes: i.peakLiveBytes,
        wasmBytes: i.memoryBytes,
      },
      provenance: i.provenance,
      metadata: Object.fromEntries([...h.metadata].filter(([k]) => !k.startsWith("eam."))),
      tensors: h.tensors.length,
      dtypes: countBy(h.tensors.map((t) => t.dtype)),
    };
    if (values.json) console.log(JSON.stringify(doc));
    else {
      console.log(
        `file        ${doc.file} (${(i.fileBytes / 2 ** 20).toFixed(2)} MiB, format ${i.formatVersion})`,
      );
      console.log(`arch        ${JSON.stringify(i.arch)}`);
      console.log(
        `input       ${i.input.name} [${i.input.shape}] = ${clf.nMels} Mel bands x ${clf.cropFrames} frames (${clf.cropSeconds.toFixed(2)} s)`,
      );
      console.log(`output      ${i.output.name} [${i.output.shape}]`);
      console.log(`labels      ${i.labels.join(", ")}`);
      console.log(`mel         ${JSON.stringify(clf.mel)}`);
      console.log(`params      ${(i.params / 1e6).toFixed(2)} M, ${(i.macs / 1e9).toFixed(3)} GMAC per crop`);
      console.log(
        `ops         ${Object.entries(i.ops.byKind)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")}`,
      );
      console.log(
        `tensors     ${doc.tensors} (${Object.entries(doc.dtypes)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ")})`,
      );
      console.log(
        `memory      weights ${mib(i.weightBytes)}, activation arena ${mib(i.arenaBytes)} (largest live set ${mib(i.peakLiveBytes)}), wasm total ${mib(i.memoryBytes)}`,
      );
      console.log(`provenance  ${JSON.stringify(i.provenance)}`);
    }
  } finally {
    await clf.dispose();
  }
  return 0;
}

function countBy(xs: string[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const x of xs) o[x] = (o[x] ?? 0) + 1;
  return o;
}

function mib(b: number): string {
  return `${(b / 2 ** 20).toFixed(2)} MiB`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One line naming the file and the problem; error classes that already name the file are kept. */
function describe(e: unknown, file: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.includes(file) ? msg : `${file}: ${msg}`;
}

const USER_ERRORS = new Set([
  "UsageError",
  "RunnerError",
  "DatasetError",
  "WavStreamError",
  "AudioDecodeError",
  "DspError",
  "EamFormatError",
  "MelConfigError",
]);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = e as Error;
    const known =
      err instanceof UsageError ||
      err instanceof RunnerError ||
      err instanceof DatasetError ||
      err instanceof WavStreamError ||
      USER_ERRORS.has(err?.name) ||
      (err as NodeJS.ErrnoException)?.code === "ENOENT";
    process.stderr.write(`pi-runner: ${err?.message ?? String(e)}\n`);
    if (err instanceof UsageError) process.stderr.write('run "pi-runner --help" for usage\n');
    if (!known && process.env.PI_RUNNER_DEBUG) process.stderr.write(`${err?.stack}\n`);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
