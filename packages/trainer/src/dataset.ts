/**
 * Labelled audio folders (GTZAN's layouts or any `<label>/<file>` tree) and the splits the
 * study uses: a seeded stratified hold-out, k-fold cross-validation, or lists from files.
 * Splits are made per clip, so crops of one clip never end up on both sides.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { extname, join, relative, resolve } from "node:path";
import { AUDIO_EXTENSIONS, clipId, labelFolderRoot, listLabelledAudio } from "@edge-audio/dsp";
import { hashString, Rng } from "./rng.js";

export interface Clip {
  /** Stable id: `<label>/<file name without extension>` (e.g. `blues/blues.00012`). */
  id: string;
  path: string;
  label: string;
  labelIndex: number;
}

export interface Dataset {
  /** The folder that holds the label folders. */
  root: string;
  labels: string[];
  clips: Clip[];
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetError";
  }
}

function isAudio(name: string): boolean {
  return AUDIO_EXTENSIONS.has(extname(name).toLowerCase()) && !name.startsWith(".");
}

/**
 * Finds the folder holding the label folders: `DIR/genres`, `DIR/genres_original`,
 * `DIR/Data/genres_original` (the Kaggle copy) or DIR itself.
 */
export function resolveDataRoot(dir: string): string {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new DatasetError(`data folder ${abs} does not exist; pass --data DIR`);
  if (!statSync(abs).isDirectory())
    throw new DatasetError(`--data ${abs} is a file; pass the folder that holds one sub-folder per label`);
  return labelFolderRoot(abs);
}

/**
 * Scans a folder of `<label>/<audio file>` (dsp's listLabelledAudio; entries that are not
 * readable regular files are left out); labels are the names of the folders holding audio, sorted.
 */
export function scanDataset(dir: string): Dataset {
  const root = resolveDataRoot(dir);
  const { clips: files } = listLabelledAudio(root);
  const labels = [...new Set(files.map((f) => f.label))];
  if (labels.length === 0) {
    const loose = readdirSync(root).filter(isAudio);
    throw new DatasetError(
      loose.length
        ? `data folder ${root} holds ${loose.length} audio files but no label folders; ` +
            "put each class in its own sub-folder (<label>/<file>), as GTZAN does"
        : `data folder ${root} holds no audio (${[...AUDIO_EXTENSIONS].join(" ")}) in label sub-folders; ` +
            "expected <label>/<file>, e.g. genres/blues/blues.00000.au, or generate demo data with `edge-audio demo-data --out DIR`",
    );
  }
  if (labels.length < 2) {
    throw new DatasetError(
      `data folder ${root} has only one label folder (${labels[0]}); a classifier needs at least two`,
    );
  }
  const clips = files.map((f) => ({ ...f, labelIndex: labels.indexOf(f.label) }));
  return { root, labels, clips };
}

export interface Split {
  train: Clip[];
  val: Clip[];
  test: Clip[];
  /** How the split was made, for logs and provenance. */
  description: string;
}

function byClass(clips: Clip[]): Map<number, Clip[]> {
  const m = new Map<number, Clip[]>();
  for (const c of clips) {
    if (!m.has(c.labelIndex)) m.set(c.labelIndex, []);
    m.get(c.labelIndex)!.push(c);
  }
  return new Map([...m.entries()].sort((a, b) => a[0] - b[0]));
}

/** Per-class seeded shuffle (independent of the order the clips were listed in). */
function shuffledByClass(clips: Clip[], seed: number): Map<number, Clip[]> {
  const out = new Map<number, Clip[]>();
  for (const [k, list] of byClass(clips)) {
    const sorted = [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    out.set(k, new Rng(hashString(String(k), seed >>> 0)).shuffle(sorted));
  }
  return out;
}

/** Takes a stratified fraction (rounded per class, at least one where the class has two or more). */
function takeStratified(clips: Clip[], fraction: number, seed: number): { taken: Clip[]; rest: Clip[] } {
  const taken: Clip[] = [];
  const rest: Clip[] = [];
  if (fraction <= 0) return { taken, rest: [...clips] };
  for (const list of shuffledByClass(clips, seed).values()) {
    let n = Math.round(list.length * fraction);
    if (n === 0 && list.length >= 2) n = 1;
    taken.push(...list.slice(0, n));
    rest.push(...list.slice(n));
  }
  return { taken, rest };
}

/**
 * The study's protocol: a seeded stratified hold-out by clip (default 20 % test), with an
 * optional validation share taken from the training part for early stopping.
 */
export function stratifiedSplit(
  clips: Clip[],
  opts: { testFraction?: number; valFraction?: number; seed: number },
): Split {
  const testFraction = opts.testFraction ?? 0.2;
  const { taken: test, rest } = takeStratified(clips, testFraction, opts.seed);
  const { taken: val, rest: train } = takeStratified(rest, opts.valFraction ?? 0, opts.seed + 7919);
  return {
    train,
    val,
    test,
    description: `stratified hold-out by clip, test ${Math.round(testFraction * 100)} %, validation ${Math.round((opts.valFraction ?? 0) * 100)} % of the rest, seed ${opts.seed}`,
  };
}

/**
 * Stratified k-fold cross-validation by clip: every clip is in exactly one test fold.
 * Returns k splits; fold i tests on its own clips and trains on the others.
 */
export function kFoldSplits(
  clips: Clip[],
  opts: { folds: number; valFraction?: number; seed: number },
): Split[] {
  const k = opts.folds;
  if (!(Number.isInteger(k) && k >= 2))
    throw new DatasetError(`--folds must be an integer of at least 2, got ${k}`);
  const foldOf = new Map<string, number>();
  let classOffset = 0;
  for (const list of shuffledByClass(clips, opts.seed).values()) {
    list.forEach((c, i) => {
      foldOf.set(c.id, (i + classOffset) % k);
    });
    classOffset += list.length;
  }
  const splits: Split[] = [];
  for (let f = 0; f < k; f++) {
    const test = clips.filter((c) => foldOf.get(c.id) === f);
    const rest = clips.filter((c) => foldOf.get(c.id) !== f);
    const { taken: val, rest: train } = takeStratified(
      rest,
      opts.valFraction ?? 0,
      opts.seed + 104729 * (f + 1),
    );
    splits.push({
      train,
      val,
      test,
      description: `stratified ${k}-fold cross-validation by clip, fold ${f + 1}/${k}, seed ${opts.seed}`,
    });
  }
  return splits;
}

/** The first `n` clips of each label, in scan order (`--max-clips-per-class`). */
export function limitPerClass(clips: Clip[], n: number | undefined): Clip[] {
  if (!n) return clips;
  const seen = new Map<string, number>();
  return clips.filter((c) => {
    const k = seen.get(c.label) ?? 0;
    seen.set(c.label, k + 1);
    return k < n;
  });
}

/**
 * Writes the test clips of each of `kFoldSplits`' folds as `out/fold-i.txt` (one path per line,
 * the format `--test-list` reads), so that the folds of `train --folds K` can run as separate
 * processes. The folds are those of every clip found; `train --folds` splits the clips whose
 * features load, which is the same set unless a file fails to decode.
 */
export function writeFoldLists(opts: {
  data: string;
  folds: number;
  seed: number;
  maxClipsPerClass?: number;
  out: string;
}): { files: string[]; clipsPerFold: number[] } {
  const clips = limitPerClass(scanDataset(opts.data).clips, opts.maxClipsPerClass);
  if (clips.length < opts.folds)
    throw new DatasetError(
      `--folds ${opts.folds} needs at least ${opts.folds} clips, and ${opts.data} has ${clips.length}; use fewer folds`,
    );
  const splits = kFoldSplits(clips, { folds: opts.folds, seed: opts.seed });
  mkdirSync(opts.out, { recursive: true });
  const files = splits.map((s, i) => {
    const file = join(opts.out, `fold-${i + 1}.txt`);
    const header = `# ${s.description}: the ${s.test.length} test clips`;
    writeFileSync(file, `${[header, ...s.test.map((c) => c.path)].join("\n")}\n`);
    return file;
  });
  return { files, clipsPerFold: splits.map((s) => s.test.length) };
}

/** Reads a list of clips (one per line; `#` comments): paths or ids, matched by file stem. */
export function readClipList(file: string): string[] {
  if (!existsSync(file)) throw new DatasetError(`split list ${file} does not exist`);
  return readFileSync(file, "utf8")
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
}

/**
 * File stem of a list entry: the file name in its last whitespace-separated field (after the last
 * slash or backslash), without an audio extension.
 */
function stem(entry: string): string {
  return clipId(entry.trim().split(/\s+/).pop()!).split("/").pop()!;
}

/**
 * A split from list files (e.g. the artist-filtered GTZAN split of Kereliuk & Sturm): clips
 * named in the test list are the test set, those in the validation list the validation set;
 * the training list, when given, restricts training to its clips, otherwise every other clip
 * trains. Entries match clips by file stem (`blues.00012`), so `.au` and `.wav` copies both work.
 */
export function listSplit(
  clips: Clip[],
  opts: { testList: string; trainList?: string; valList?: string },
): Split {
  const index = new Map(clips.map((c) => [stem(c.path), c]));
  const resolveList = (file: string): Clip[] => {
    const out: Clip[] = [];
    const missing: string[] = [];
    for (const entry of readClipList(file)) {
      const c = index.get(stem(entry));
      if (c) out.push(c);
      else missing.push(entry);
    }
    if (missing.length) {
      throw new DatasetError(
        `split list ${file}: ${missing.length} entr${missing.length === 1 ? "y is" : "ies are"} not in the data folder ` +
          `(first: ${missing[0]}); check --data or remove those lines`,
      );
    }
    return out;
  };
  const test = resolveList(opts.testList);
  const val = opts.valList ? resolveList(opts.valList) : [];
  const used = new Set([...test, ...val].map((c) => c.id));
  const train = opts.trainList ? resolveList(opts.trainList) : clips.filter((c) => !used.has(c.id));
  const trainIds = new Set(train.map((c) => c.id));
  const overlap = [...used].filter((id) => trainIds.has(id));
  if (overlap.length) {
    throw new DatasetError(
      `split lists overlap: ${overlap.length} clips are in training and test/validation (first: ${overlap[0]})`,
    );
  }
  return { train, val, test, description: `split from lists (test: ${opts.testList})` };
}

/** Clip counts per label, for the log. */
export function countsByLabel(clips: Clip[], labels: string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
  for (const c of clips) out[c.label] = (out[c.label] ?? 0) + 1;
  return out;
}

export function relativeId(root: string, path: string): string {
  return relative(root, path);
}
