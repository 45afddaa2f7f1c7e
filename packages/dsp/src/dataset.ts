/** The parts of a labelled audio folder (`<label>/<audio file>`, GTZAN's layouts) every reader shares. */
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";

/** File extensions of the formats decodeAudio reads. */
export const AUDIO_EXTENSIONS: ReadonlySet<string> = new Set([".wav", ".au", ".snd", ".mp3", ".flac"]);

/** Sub-folders that hold the label folders in GTZAN's copies, tried in this order. */
const LABEL_ROOTS = ["genres", "genres_original", join("Data", "genres_original")];

/**
 * The folder that holds the label folders: `dir/genres`, `dir/genres_original`,
 * `dir/Data/genres_original` (the Kaggle copy), whichever is a folder first, else `dir` itself.
 */
export function labelFolderRoot(dir: string): string {
  for (const inner of LABEL_ROOTS) {
    const candidate = join(dir, inner);
    if (isFolder(candidate)) return candidate;
  }
  return dir;
}

/**
 * `label/name` of a clip path or id such as `genres/blues/blues.00001.wav`: the last two path
 * parts, with a known audio extension dropped, so a clip keeps its id whatever its format or folder.
 */
export function clipId(pathOrId: string): string {
  const parts = pathOrId.split(/[\\/]/);
  const name = parts.at(-1) ?? "";
  const ext = extname(name).toLowerCase();
  const base = AUDIO_EXTENSIONS.has(ext) ? name.slice(0, -ext.length) : name;
  return parts.length >= 2 ? `${parts.at(-2)}/${base}` : base;
}

/** Whether `path` is a folder (false when it does not exist or cannot be stat'ed). */
export function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** An audio file of a labelled folder. */
export interface LabelledAudio {
  path: string;
  label: string;
  /** `label/name-without-extension` (clipId). */
  id: string;
}

/** A folder entry that is not a clip: unreadable (dangling symlink, loop, no permission) or not a regular file. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

/**
 * The audio files of a folder of label folders, `root/<label>/<file>` (labelFolderRoot finds the
 * root in GTZAN's copies): labels and files in sorted order, names starting with "." left out,
 * files kept by their audio extension. Symbolic links are followed. An entry that cannot be
 * stat'ed or is not a regular file (a FIFO or a device is never opened, so nothing blocks), and a
 * folder that cannot be read, go to `skipped` with the reason instead of being thrown.
 */
export function listLabelledAudio(root: string): { clips: LabelledAudio[]; skipped: SkippedEntry[] } {
  const clips: LabelledAudio[] = [];
  const skipped: SkippedEntry[] = [];
  for (const label of readNames(root, skipped)) {
    const labelDir = join(root, label);
    if (label.startsWith(".") || !isFolder(labelDir)) continue;
    for (const name of readNames(labelDir, skipped)) {
      if (name.startsWith(".") || !AUDIO_EXTENSIONS.has(extname(name).toLowerCase())) continue;
      const path = join(labelDir, name);
      const why = notRegularFile(path);
      if (why) skipped.push({ path, reason: why });
      else clips.push({ path, label, id: clipId(`${label}/${name}`) });
    }
  }
  return { clips, skipped };
}

/** Sorted names in a folder; an unreadable folder is recorded in `skipped` and yields none. */
function readNames(dir: string, skipped: SkippedEntry[]): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    skipped.push({ path: dir, reason: errnoText(e) });
    return [];
  }
}

/** Why `path` is not a regular file to read, or null if it is one (stat follows symlinks). */
function notRegularFile(path: string): string | null {
  try {
    const st = statSync(path);
    if (st.isFile()) return null;
    if (st.isDirectory()) return "a folder with an audio file's name";
    if (st.isFIFO()) return "a FIFO (named pipe), not a regular file; not opened";
    return "not a regular file (a device or socket); not opened";
  } catch (e) {
    return errnoText(e);
  }
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "a dangling symlink (its target does not exist)";
  if (code === "ELOOP") return "a symlink loop";
  if (code === "EACCES") return "permission denied";
  return `cannot be read (${code ?? (e as Error).message})`;
}
