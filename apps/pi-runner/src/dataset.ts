import { readdirSync, statSync } from "node:fs";
import { extname, join, relative } from "node:path";

export const AUDIO_EXTENSIONS = new Set([".wav", ".au", ".snd", ".mp3", ".flac"]);

export interface Clip {
  path: string;
  label: string;
  /** `label/name-without-extension`: identifies a clip whatever its format or folder layout. */
  id: string;
}

/** `label/name` of a clip path or id such as `blues/blues.00001.wav` (known audio extensions dropped). */
export function clipId(pathOrId: string): string {
  const parts = pathOrId.split(/[\\/]/);
  const name = parts.at(-1) ?? "";
  const ext = extname(name).toLowerCase();
  const base = AUDIO_EXTENSIONS.has(ext) ? name.slice(0, -ext.length) : name;
  return parts.length >= 2 ? `${parts.at(-2)}/${base}` : base;
}

export class DatasetError extends Error {
  override name = "DatasetError";
}

/**
 * Lists a folder of labelled audio: GTZAN's `genres/<genre>/<genre>.000NN.au`, the common
 * `genres_original/<genre>/*.wav` copy, or any `<label>/<file>` folder. Labels are the
 * sub-folder names; clips are sorted so every run sees the same order.
 */
export function listClips(dir: string): Clip[] {
  let root = dir;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(root);
  } catch {
    throw new DatasetError(
      `${dir}: no such folder; pass --data with a folder of <label>/<audio file> sub-folders`,
    );
  }
  if (!st.isDirectory())
    throw new DatasetError(
      `${dir}: not a folder; pass --data with a folder of <label>/<audio file> sub-folders`,
    );
  for (const inner of ["genres", "genres_original", "Data/genres_original"]) {
    const candidate = join(dir, inner);
    if (isDir(candidate)) {
      root = candidate;
      break;
    }
  }
  const clips: Clip[] = [];
  for (const label of readdirSync(root).sort()) {
    const labelDir = join(root, label);
    if (label.startsWith(".") || !isDir(labelDir)) continue;
    for (const name of readdirSync(labelDir).sort()) {
      const ext = extname(name).toLowerCase();
      if (!AUDIO_EXTENSIONS.has(ext)) continue;
      const path = join(labelDir, name);
      if (!statSync(path).isFile()) continue;
      clips.push({ path, label, id: clipId(`${label}/${name}`) });
    }
  }
  if (clips.length === 0) {
    throw new DatasetError(
      `${dir}: found no audio files (${[...AUDIO_EXTENSIONS].join(" ")}) in <label>/ sub-folders${root !== dir ? ` of ${relative(dir, root)}` : ""}`,
    );
  }
  return clips;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
