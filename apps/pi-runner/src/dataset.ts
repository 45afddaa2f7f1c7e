import { readdirSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";
import { AUDIO_EXTENSIONS, clipId, isFolder, labelFolderRoot } from "@edge-audio/dsp";

export { AUDIO_EXTENSIONS, clipId };

export interface Clip {
  path: string;
  label: string;
  /** `label/name-without-extension`: identifies a clip whatever its format or folder layout. */
  id: string;
}

export class DatasetError extends Error {
  override name = "DatasetError";
}

/** A folder entry that is not a clip: unreadable (dangling symlink, loop, no permission) or not a regular file. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface ClipListing {
  clips: Clip[];
  skipped: SkippedEntry[];
}

/**
 * Lists a folder of labelled audio: GTZAN's `genres/<genre>/<genre>.000NN.au`, the common
 * `genres_original/<genre>/*.wav` copy, or any `<label>/<file>` folder. Labels are the
 * sub-folder names; clips are sorted so every run sees the same order. Entries with an audio
 * extension that cannot be stat'ed (a dangling symlink, a symlink loop) or are not regular files
 * (a FIFO, a device: never opened, so nothing blocks) are returned in `skipped`, not thrown.
 * An empty folder is a DatasetError.
 */
export function listClips(dir: string): ClipListing {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(dir);
  } catch {
    throw new DatasetError(
      `${dir}: no such folder; pass --data with a folder of <label>/<audio file> sub-folders`,
    );
  }
  if (!st.isDirectory())
    throw new DatasetError(
      `${dir}: not a folder; pass --data with a folder of <label>/<audio file> sub-folders`,
    );
  const root = labelFolderRoot(dir);
  const clips: Clip[] = [];
  const skipped: SkippedEntry[] = [];
  for (const label of readNames(root, skipped)) {
    const labelDir = join(root, label);
    if (label.startsWith(".") || !isFolder(labelDir)) continue;
    for (const name of readNames(labelDir, skipped)) {
      const ext = extname(name).toLowerCase();
      if (!AUDIO_EXTENSIONS.has(ext)) continue;
      const path = join(labelDir, name);
      const why = notRegularFile(path);
      if (why) skipped.push({ path, reason: why });
      else clips.push({ path, label, id: clipId(`${label}/${name}`) });
    }
  }
  if (clips.length === 0) {
    const unreadable = skipped.length ? ` (${skipped.length} unreadable entries skipped)` : "";
    throw new DatasetError(
      `${dir}: found no audio files (${[...AUDIO_EXTENSIONS].join(" ")}) in <label>/ sub-folders${root !== dir ? ` of ${relative(dir, root)}` : ""}${unreadable}; pass --data with a folder of <label>/<audio file> sub-folders`,
    );
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
