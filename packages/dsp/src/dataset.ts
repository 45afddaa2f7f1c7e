/** The parts of a labelled audio folder (`<label>/<audio file>`, GTZAN's layouts) every reader shares. */
import { statSync } from "node:fs";
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
