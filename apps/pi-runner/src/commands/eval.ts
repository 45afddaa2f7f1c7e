/** pi-runner eval: accuracy, confusion, per-class scores, speed and memory over a labelled folder. */
import { statSync } from "node:fs";
import { ProgressBar } from "@edge-audio/common";
import type { Classifier } from "../classifier.js";
import { type Clip, clipId, listClips } from "../dataset.js";
import { DecodeAhead } from "../decode-ahead.js";
import { collectGarbage, peakRssBytes } from "../memory.js";
import { evaluate, formatConfusion } from "../metrics.js";
import { InputError, type OptionSpecs, parseCommandLine, UsageError, type Values } from "./args.js";
import { describe } from "./format.js";
import { COMMON_HELP, MODEL_HELP, MODEL_OPTIONS, openModel, warner } from "./model-options.js";

export const EVAL_OPTIONS = {
  ...MODEL_OPTIONS,
  data: { type: "string", required: true, placeholder: "DIR" },
  split: { type: "string", choices: ["test", "all"] },
  limit: { type: "integer", min: 1 },
  strict: { type: "boolean" },
} satisfies OptionSpecs;

export const EVAL_HELP = `usage: pi-runner eval --model M.eam --data DIR [options]

Classifies every clip of a folder in GTZAN layout (<label>/<file>) and reports clip accuracy,
the confusion matrix, per-class precision/recall/F1, milliseconds per clip, peak resident
memory and the model file size. Unreadable entries (dangling symlinks, loops, FIFOs, damaged
audio) are listed and skipped.

options:
${MODEL_HELP}
  --data DIR       folder of <label>/<audio> (genres/ and genres_original/ are found)
  --split NAME     test or all. When the model carries its split (metadata trainer.split),
                   the default is test: only the clips held out at training time. all also
                   counts the clips the model was trained on (with a warning).
  --limit N        evaluate at most N clips (after the split)
  --strict         skip clips that are not whole (truncated, damaged frames) instead of
                   classifying what is there with a warning
${COMMON_HELP}`;

/**
 * Clips asked of the decoding thread beyond the one being classified: with one, the two threads
 * each waited about 20 ms a clip for the other (profiled); with two, either can run ahead.
 */
const CLIPS_AHEAD = 2;

interface EvalRow {
  clip: Clip;
  predicted: string;
  ms: number;
}

export async function evalCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine("eval", args, EVAL_OPTIONS, EVAL_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length)
    throw new UsageError(`unexpected argument "${positionals[0]}"; give the folder with --data DIR`);
  const warn = warner(values);
  const listing = listClips(String(values.data));
  const t0 = performance.now();
  const clf = await openModel(values);
  const msLoad = performance.now() - t0;
  // the garbage of loading (header, plan) goes before the first clip
  collectGarbage();
  try {
    const { clips: chosen, split } = chooseSplit(clf, listing.clips, values, warn);
    const clips = values.limit ? chosen.slice(0, Number(values.limit)) : chosen;
    checkLabels(clf, clips, values.data);
    const skipped = listing.skipped.map((s) => ({ file: s.path, reason: `${s.path}: ${s.reason}` }));
    for (const s of skipped) warn(`skipped ${s.reason}`);
    const progress = new ProgressBar({
      title: "eval",
      total: clips.length,
      unit: "clip",
      quiet: Boolean(values.quiet),
    });
    const rows: EvalRow[] = [];
    // the next MP3 or FLAC clip is decoded on a second thread while this one is classified
    const ahead = new DecodeAhead(clf.mel.sampleRate);
    try {
      for (const c of clips.slice(0, CLIPS_AHEAD)) ahead.request(c.path);
      // a clip's time runs from the end of the one before (its collection included): wall time,
      // with the decoding ahead that overlapped it
      let c0 = performance.now();
      for (const [i, clip] of clips.entries()) {
        if (clips[i + CLIPS_AHEAD]) ahead.request(clips[i + CLIPS_AHEAD]!.path);
        let row: EvalRow | null = null;
        try {
          const input = await ahead.take(clip.path);
          const opts = { strict: values.strict === true };
          const r = input ? await clf.classifyInput(input, opts) : await clf.classifyFile(clip.path, opts);
          for (const w of r.warnings) warn(w);
          row = { clip, predicted: r.label, ms: 0 };
        } catch (e) {
          const reason = describe(e, clip.path);
          skipped.push({ file: clip.path, reason });
          warn(`skipped ${reason}`);
        }
        // the clip's buffers go before the next clip (see collectGarbage)
        collectGarbage();
        const c1 = performance.now();
        if (row) rows.push({ ...row, ms: c1 - c0 });
        c0 = c1;
        progress.tick();
      }
    } finally {
      await ahead.close();
    }
    progress.finish();
    if (rows.length === 0) throw new InputError(`${values.data}: no clip could be classified`);
    printReport(clf, values, { rows, skipped, split, msLoad });
  } finally {
    await clf.dispose();
  }
  return 0;
}

/**
 * The clips to score. With the model's split (trainer.split) known, the default is its held-out
 * test clips, said in one line; --split all takes every clip, with a warning that the model was
 * trained on some of them.
 */
function chooseSplit(
  clf: Classifier,
  clips: Clip[],
  v: Values,
  warn: (msg: string) => void,
): { clips: Clip[]; split: "all" | "test" } {
  const held = heldOutClips(clf);
  const split = (v.split as "all" | "test" | undefined) ?? (held ? "test" : "all");
  if (split === "all") {
    const trained = held ? clips.filter((c) => !held.has(c.id)).length : 0;
    if (trained > 0)
      warn(
        `--split all: ${trained} of the ${clips.length} clips are not in the model's held-out test split (trainer.split); the model saw its training clips, so this accuracy is optimistic`,
      );
    return { clips, split };
  }
  if (!held)
    throw new InputError(
      `${clf.path}: the model's metadata (trainer.split) lists no held-out clips, so --split test is unknown; use --split all`,
    );
  const test = clips.filter((c) => held.has(c.id));
  if (test.length === 0)
    throw new InputError(
      `${v.data}: none of the ${held.size} held-out clips named by ${clf.path} is in this folder; use --split all to score every clip (with the training clips)`,
    );
  if (v.split === undefined && !v.quiet)
    process.stderr.write(
      `eval: split test: the ${test.length} clips ${clf.path} held out at training (trainer.split); ${clips.length - test.length} others excluded (--split all includes them)\n`,
    );
  return { clips: test, split };
}

function checkLabels(clf: Classifier, clips: Clip[], data: unknown): void {
  const unknown = [...new Set(clips.map((c) => c.label))].filter((l) => !clf.labels.includes(l));
  if (unknown.length)
    throw new InputError(
      `${data}: label folder(s) ${unknown.join(", ")} are not classes of ${clf.path} (${clf.labels.join(", ")})`,
    );
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

function printReport(
  clf: Classifier,
  v: Values,
  r: { rows: EvalRow[]; skipped: { file: string; reason: string }[]; split: string; msLoad: number },
): void {
  const { rows, skipped, split, msLoad } = r;
  const e = evaluate(
    clf.labels,
    rows.map((x) => clf.labels.indexOf(x.clip.label)),
    rows.map((x) => clf.labels.indexOf(x.predicted)),
  );
  const msPerClip = rows.reduce((a, x) => a + x.ms, 0) / rows.length;
  const peakRssMB = peakRssBytes() / 2 ** 20;
  const modelBytes = statSync(clf.path).size;
  if (v.json) {
    console.log(
      JSON.stringify({
        model: clf.path,
        data: v.data,
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
      }),
    );
    return;
  }
  console.log(`model       ${clf.path} (${(modelBytes / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`data        ${v.data} (split ${split}: ${rows.length} clips, ${skipped.length} skipped)`);
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
