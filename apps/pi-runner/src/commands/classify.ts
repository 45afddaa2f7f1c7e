/**
 * pi-runner classify: files, WAV files read in chunks (--stream) and a WAV stream on stdin, with a
 * readable table on a terminal, JSON lines (--json) or CSV (--csv), and timelines (--segments).
 */

import { argmax, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "@edge-audio/common";
import { type Classifier, type ClipResult, RunnerError } from "../classifier.js";
import { topK } from "../crops.js";
import { checkInput, openMonoInput, readStreamInput } from "../input.js";
import { isInputFailure } from "../input-errors.js";
import { collectGarbage } from "../memory.js";
import {
  numberValue,
  type OptionSpecs,
  optionalValue,
  parseCommandLine,
  requireRegularFile,
  UsageError,
  type Values,
} from "./args.js";
import { clock, csvRow, describe, round } from "./format.js";
import { COMMON_HELP, MODEL_HELP, MODEL_OPTIONS, openModel, warner } from "./model-options.js";
import { mergeTimeline, type Segment, SegmentBuilder, type TimelineSpan, timelineText } from "./segments.js";

export const CLASSIFY_OPTIONS = {
  ...MODEL_OPTIONS,
  top: { type: "integer", min: 1 },
  stream: { type: "boolean" },
  strict: { type: "boolean" },
  segments: { type: "string" },
  csv: { type: "boolean" },
  format: { type: "string", choices: ["table", "json", "csv"] },
} satisfies OptionSpecs;

/** The value `--segments` alone stands for: one model window per segment. */
const ONE_WINDOW = "window";

export const CLASSIFY_HELP = `usage: pi-runner classify --model M.eam [options] FILE... | -

Classifies audio files (WAV, .au, MP3, FLAC; any sample rate). "-" reads a stream from
standard input (WAV at the model's rate, or MP3/FLAC, resampled) and prints a result per window
as the audio arrives, then the overall result:
  arecord -f S16_LE -r 22050 -c 1 | pi-runner classify --model M.eam -

Output: a table on a terminal, JSON lines otherwise (or with --json), CSV with --csv. Every
result line has the same fields in every mode: file, label, top [{label, p}], seconds, crops,
mode (clip, stream or stdin), ms {decode, features, inference}.

options:
${MODEL_HELP}
  --top K          probabilities to print per result, up to the label count (default 3)
  --stream         classify consecutive windows as the file is read (flat memory,
                   per-window top-dB); done anyway for files over 25 minutes ("mode" says which)
  --strict         refuse input that is not whole (truncated, damaged frames) instead of
                   classifying what is there with a warning
  --segments [S]   a timeline per file or stream: top label and p per segment of S seconds
                   (default and minimum: one model window, about 3 s; rounded to whole
                   windows), and the runs of equal labels merged ("0:00–1:12 rock, ...")
  --csv            one CSV row per file (a batch over many files)
  --format F       table, json or csv (default: table on a terminal, json otherwise)
${COMMON_HELP}`;

type Format = "table" | "json" | "csv";

interface FileResult {
  file: string;
  label: string;
  probs: Float32Array;
  seconds: number;
  crops: number;
  mode: "clip" | "stream" | "stdin";
  ms: { decode: number; features: number; inference: number };
  timeline?: TimelineSpan[];
  samples?: number;
  warning?: string;
}

/** Where results go: one implementation per output format. */
interface Reporter {
  segment(file: string, s: Segment): void;
  result(r: FileResult): void;
  error(file: string, message: string): void;
}

export async function classifyCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine(
    "classify",
    optionalValue(args, "--segments", ONE_WINDOW),
    CLASSIFY_OPTIONS,
    CLASSIFY_HELP,
  );
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const format = outputFormat(values);
  if (positionals.length === 0)
    throw new UsageError("give at least one audio file, or - to read a WAV stream from stdin");
  if (format === "csv" && values.segments !== undefined)
    throw new UsageError(
      "--csv prints one row per file and has no room for --segments; use --json or the table",
    );
  if (positionals.filter((p) => p === "-").length > 1)
    throw new UsageError('"-" (standard input) can be given once');
  const clf = await openModel(values);
  collectGarbage();
  try {
    const k = topCount(values, clf.labels.length);
    const windowsPerSegment = segmentWindows(values, clf);
    const reporter = makeReporter(format, clf, k, positionals);
    const input: InputPolicy = { strict: values.strict === true, warn: warner(values) };
    let inputFailures = 0;
    let runFailures = 0;
    for (const file of positionals) {
      try {
        if (file === "-") reporter.result(await classifyStdin(clf, windowsPerSegment ?? 1, reporter, input));
        else {
          requireRegularFile(file, "an audio file", "give a WAV, .au, MP3 or FLAC file");
          reporter.result(
            windowsPerSegment
              ? await classifyFileSegments(clf, file, windowsPerSegment, reporter, input)
              : fileResult(file, await classifyOne(clf, file, values.stream === true, input)),
          );
        }
      } catch (e) {
        // standard input is one stream: its failure ends the run (one line on stderr)
        if (file === "-") throw e;
        if (isInputFailure(e)) inputFailures++;
        else runFailures++;
        reporter.error(file, describe(e, file));
      }
      collectGarbage();
    }
    // the other files are still classified; the status says the worst that happened
    return runFailures ? EXIT_FAILURE : inputFailures ? EXIT_USAGE : EXIT_OK;
  } finally {
    await clf.dispose();
  }
}

function outputFormat(v: Values): Format {
  const chosen = [v.json && "json", v.csv && "csv", typeof v.format === "string" && v.format].filter(Boolean);
  if (new Set(chosen).size > 1) throw new UsageError(`choose one output format, got ${chosen.join(" and ")}`);
  return (chosen[0] || (process.stdout.isTTY ? "table" : "json")) as Format;
}

function topCount(v: Values, labels: number): number {
  const k = v.top === undefined ? Math.min(3, labels) : Number(v.top);
  if (k > labels)
    throw new UsageError(`--top ${k} is more than the model's ${labels} labels; give 1 to ${labels}`);
  return k;
}

/** Model windows per segment for --segments [SECONDS] (undefined without it). */
function segmentWindows(v: Values, clf: Classifier): number | undefined {
  if (v.segments === undefined) return undefined;
  if (v.segments === ONE_WINDOW) return 1;
  const seconds = numberValue("--segments", String(v.segments), 0);
  const w = windowSeconds(clf);
  const n = Math.round(seconds / w);
  if (seconds < w - 1e-9)
    throw new UsageError(
      `--segments ${v.segments}: a segment is whole model windows of ${w.toFixed(2)} s; give ${w.toFixed(2)} or more`,
    );
  return n;
}

/** Seconds from one window's start to the next's: the model's crop length. */
function windowSeconds(clf: Classifier): number {
  return (clf.cropFrames * clf.mel.hopLength) / clf.mel.sampleRate;
}

function fileResult(file: string, r: ClipResult): FileResult {
  return {
    file,
    label: r.label,
    probs: r.probs,
    seconds: r.seconds,
    crops: r.crops,
    mode: r.mode,
    ms: { decode: r.msDecode, features: r.msFeatures, inference: r.msInference },
  };
}

/** Feeds windows of `clf.stream` into a SegmentBuilder that reports each segment as it closes. */
function segmentedStream(clf: Classifier, windowsPerSegment: number, file: string, reporter: Reporter) {
  const builder = new SegmentBuilder(clf.labels, windowsPerSegment, (s) => reporter.segment(file, s));
  const ms = { features: 0, inference: 0 };
  const w = windowSeconds(clf);
  const stream = clf.stream((r) => {
    ms.features += r.msFeatures;
    ms.inference += r.msInference;
    builder.add(r.probs, r.startSeconds, r.startSeconds + w);
  });
  return { builder, ms, stream };
}

/** What to do with input that is not whole: warn (on stderr, unless --quiet) or, with --strict, refuse. */
interface InputPolicy {
  strict: boolean;
  warn: (msg: string) => void;
}

/** A file in clip or stream mode, its input warnings printed. */
async function classifyOne(
  clf: Classifier,
  file: string,
  stream: boolean,
  input: InputPolicy,
): Promise<ClipResult> {
  const r = await clf.classifyFile(file, { ...(stream ? { stream: true } : {}), strict: input.strict });
  for (const w of r.warnings) input.warn(w);
  return r;
}

/**
 * --segments on a file: read in pieces (src/input.ts) and fed to the stream classifier in
 * consecutive windows (per-window top-dB, as --stream); the overall result is the mean of the
 * windows. A file shorter than one window gets its clip result as its only segment.
 */
async function classifyFileSegments(
  clf: Classifier,
  file: string,
  windowsPerSegment: number,
  reporter: Reporter,
  input: InputPolicy,
): Promise<FileResult> {
  const t0 = performance.now();
  const { builder, ms, stream } = segmentedStream(clf, windowsPerSegment, file, reporter);
  let samples = 0;
  const report = await (await openMonoInput(file, clf.mel.sampleRate)).read((x) => {
    samples += x.length;
    stream.push(x);
  });
  for (const w of checkInput(file, report, input.strict)) input.warn(w);
  stream.end();
  builder.end();
  const msDecode = performance.now() - t0 - ms.features - ms.inference;
  const seconds = samples / clf.mel.sampleRate;
  const probs = builder.overall();
  if (!probs) {
    const r = await clf.classifyFile(file, { stream: false, strict: input.strict });
    const only = { index: 0, start: 0, end: seconds, label: r.label, p: r.probs[r.index]!, probs: r.probs };
    reporter.segment(file, only);
    return { ...fileResult(file, r), timeline: mergeTimeline([only]) };
  }
  return {
    file,
    label: clf.labels[argmax(probs)]!,
    probs,
    seconds,
    crops: builder.windows,
    mode: "stream",
    ms: { decode: msDecode, ...ms },
    timeline: mergeTimeline(builder.segments),
  };
}

/** `classify -`: a stream on stdin, a segment per window (or per --segments), then the overall result. */
async function classifyStdin(
  clf: Classifier,
  windowsPerSegment: number,
  reporter: Reporter,
  input: InputPolicy,
): Promise<FileResult> {
  const { builder, ms, stream } = segmentedStream(clf, windowsPerSegment, "-", reporter);
  const t0 = performance.now();
  const got = await readStreamInput(process.stdin, "standard input", clf.mel.sampleRate, (x) =>
    stream.push(x),
  );
  const warnings = checkInput("standard input", got, input.strict);
  stream.end();
  builder.end();
  for (const w of warnings) input.warn(w);
  const msDecode = performance.now() - t0 - ms.features - ms.inference;
  const seconds = got.samples / clf.mel.sampleRate;
  const probs = builder.overall();
  if (!probs)
    throw new RunnerError(
      `standard input: the stream held ${seconds.toFixed(2)} s of audio, less than one window of the model (${windowSeconds(clf).toFixed(2)} s)`,
    );
  const r: FileResult = {
    file: "-",
    label: clf.labels[argmax(probs)]!,
    probs,
    seconds,
    crops: builder.windows,
    mode: "stdin",
    ms: { decode: msDecode, ...ms },
    timeline: mergeTimeline(builder.segments),
    samples: got.samples,
  };
  if (got.trailingBytes)
    r.warning = `stream stopped mid-sample (${got.trailingBytes} trailing bytes ignored)`;
  return r;
}

function makeReporter(format: Format, clf: Classifier, k: number, files: string[]): Reporter {
  if (format === "json") return jsonReporter(clf, k);
  if (format === "csv") return csvReporter(clf, k);
  return tableReporter(clf, k, files);
}

function topOf(probs: Float32Array, clf: Classifier, k: number) {
  return topK(probs, clf.labels, k).map((t) => ({ label: t.label, p: round(t.p, 5) }));
}

function jsonReporter(clf: Classifier, k: number): Reporter {
  return {
    segment: (file, s) =>
      console.log(
        JSON.stringify({
          file,
          segment: s.index,
          start: round(s.start, 3),
          end: round(s.end, 3),
          label: s.label,
          p: round(s.p, 5),
          top: topOf(s.probs, clf, k),
        }),
      ),
    result: (r) => {
      const o: Record<string, unknown> = {
        file: r.file,
        label: r.label,
        top: topOf(r.probs, clf, k),
        seconds: round(r.seconds, 3),
        crops: r.crops,
        mode: r.mode,
        ms: {
          decode: round(r.ms.decode, 2),
          features: round(r.ms.features, 2),
          inference: round(r.ms.inference, 2),
        },
      };
      if (r.timeline) {
        o.timeline = r.timeline.map((s) => ({
          start: round(s.start, 3),
          end: round(s.end, 3),
          label: s.label,
        }));
        o.summary = timelineText(r.timeline);
      }
      if (r.samples !== undefined) o.samples = r.samples;
      if (r.warning) o.warning = r.warning;
      console.log(JSON.stringify(o));
    },
    error: (file, message) => console.log(JSON.stringify({ file, error: message })),
  };
}

function csvReporter(clf: Classifier, k: number): Reporter {
  const tops = Array.from({ length: k }, (_, i) => [`label_${i + 1}`, `p_${i + 1}`]).flat();
  console.log(csvRow(["file", "label", "p", "seconds", "crops", "mode", "ms", ...tops, "error"]));
  return {
    segment: () => {},
    result: (r) => {
      const top = topOf(r.probs, clf, k);
      const ms = r.ms.decode + r.ms.features + r.ms.inference;
      console.log(
        csvRow([
          r.file,
          r.label,
          top[0]!.p,
          round(r.seconds, 3),
          r.crops,
          r.mode,
          round(ms, 1),
          ...top.flatMap((t) => [t.label, t.p]),
          r.warning ?? "",
        ]),
      );
    },
    error: (file, message) => console.log(csvRow([file, ...new Array<string>(6 + 2 * k).fill(""), message])),
  };
}

function tableReporter(clf: Classifier, k: number, files: string[]): Reporter {
  const fileWidth = Math.max(4, ...files.map((f) => f.length));
  const labelWidth = Math.max(...clf.labels.map((l) => l.length));
  const topText = (probs: Float32Array) =>
    topOf(probs, clf, k)
      .map((t) => `${t.label.padEnd(labelWidth)} ${t.p.toFixed(2)}`)
      .join("  ");
  const topWidth = k * (labelWidth + 6) - 2;
  const row = (file: string, top: string, duration: string, time: string) =>
    `${file.padEnd(fileWidth)}  ${top.padEnd(topWidth)}  ${duration.padStart(8)}  ${time.padStart(8)}`.trimEnd();
  console.log(row("file", k > 1 ? `top ${k}` : "label", "duration", "time"));
  let segmentsOf = "";
  return {
    segment: (file, s) => {
      if (segmentsOf !== file) console.log(`${file}:`);
      segmentsOf = file;
      console.log(`  ${clock(s.start)}–${clock(s.end)}  ${s.label.padEnd(labelWidth)} ${s.p.toFixed(2)}`);
    },
    result: (r) => {
      const ms = r.ms.decode + r.ms.features + r.ms.inference;
      console.log(row(r.file, topText(r.probs), clock(r.seconds), `${ms.toFixed(0)} ms`));
      if (r.timeline) console.log(`  timeline: ${timelineText(r.timeline)}`);
      if (r.warning) console.log(`  warning: ${r.warning}`);
    },
    error: (file, message) => console.log(row(file, `error: ${message}`, "", "")),
  };
}
