import { statSync } from "node:fs";
import { relative } from "node:path";
import {
  AUDIO_EXTENSIONS,
  clipId,
  type LabelledAudio,
  labelFolderRoot,
  listLabelledAudio,
  type SkippedEntry,
} from "@edge-audio/dsp";

export { AUDIO_EXTENSIONS, clipId, type SkippedEntry };

/** A clip: its path, label and `label/name-without-extension` id (whatever its format or folder layout). */
export type Clip = LabelledAudio;

export class DatasetError extends Error {
  override name = "DatasetError";
}

export interface ClipListing {
  clips: Clip[];
  skipped: SkippedEntry[];
}

/**
 * Lists a folder of labelled audio: GTZAN's `genres/<genre>/<genre>.000NN.au`, the common
 * `genres_original/<genre>/*.wav` copy, or any `<label>/<file>` folder (dsp's
 * listLabelledAudio: sorted, so every run sees the same order). Entries with an audio extension
 * that cannot be stat'ed (a dangling symlink, a symlink loop) or are not regular files (a FIFO,
 * a device: never opened, so nothing blocks) are returned in `skipped`, not thrown. An empty
 * folder is a DatasetError.
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
  const { clips, skipped } = listLabelledAudio(root);
  if (clips.length === 0) {
    const unreadable = skipped.length ? ` (${skipped.length} unreadable entries skipped)` : "";
    throw new DatasetError(
      `${dir}: found no audio files (${[...AUDIO_EXTENSIONS].join(" ")}) in <label>/ sub-folders${root !== dir ? ` of ${relative(dir, root)}` : ""}${unreadable}; pass --data with a folder of <label>/<audio file> sub-folders`,
    );
  }
  return { clips, skipped };
}
