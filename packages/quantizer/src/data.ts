/**
 * Clips and crops for calibration and evaluation: a `<label>/<audio file>` folder (GTZAN layout),
 * the model's own Mel configuration, and the dsp evaluation crops (the ones the runner uses).
 */
import {
  clipId,
  evalCropOffsets,
  isFolder,
  labelFolderRoot,
  listLabelledAudio,
  loadAudio,
  logMelSpectrogram,
  modelCrop,
  resolveMelConfig,
} from "@edge-audio/dsp";
import type { EamHeader } from "@edge-audio/engine-wasm";

export interface Clip {
  path: string;
  label: string;
  /** `label/name-without-extension`, as in the trainer's split lists. */
  id: string;
}

export class DataError extends Error {
  override name = "DataError";
}

/** The clips of a `<label>/<audio file>` folder (dsp's listLabelledAudio; unreadable entries left out). */
export function listClips(dir: string): Clip[] {
  if (!isFolder(dir))
    throw new DataError(`${dir}: no such folder; pass a folder of <label>/<audio file> sub-folders`);
  const { clips } = listLabelledAudio(labelFolderRoot(dir));
  if (clips.length === 0) throw new DataError(`${dir}: no audio files in <label>/ sub-folders`);
  return clips;
}

/** The trainer's held-out ids (test and validation) stored in the model's `trainer.split`. */
export function heldOut(h: Pick<EamHeader, "metadata">): { test: Set<string>; val: Set<string> } | null {
  const s = h.metadata.get("trainer.split") as { test?: unknown[]; val?: unknown[] } | undefined;
  if (!s || !Array.isArray(s.test)) return null;
  const ids = (a: unknown[] | undefined) =>
    new Set((a ?? []).map((x) => clipId(typeof x === "string" ? x : String((x as { id?: string }).id ?? x))));
  return { test: ids(s.test), val: ids(s.val) };
}

/**
 * Splits a folder by the model's provenance: `train` are clips in neither the test nor the
 * validation list. Without a stored split, every clip counts as both (said in `note`).
 */
export function splitClips(
  dir: string,
  h: Pick<EamHeader, "metadata">,
): { train: Clip[]; test: Clip[]; note: string } {
  const clips = listClips(dir);
  const s = heldOut(h);
  if (!s) return { train: clips, test: clips, note: "the model carries no trainer.split: all clips used" };
  const test = clips.filter((c) => s.test.has(c.id));
  const train = clips.filter((c) => !s.test.has(c.id) && !s.val.has(c.id));
  if (test.length === 0)
    return {
      train,
      test: clips,
      note: "none of the model's test ids is in this folder: all clips evaluated (not a held-out figure)",
    };
  return { train, test, note: `trainer.split: ${train.length} training, ${test.length} test clips` };
}

export interface ClipCrops {
  clip: Clip;
  crops: Float32Array[];
}

/** Log-Mel crops of a clip exactly as the runner makes them. */
export async function clipCrops(
  clip: Clip,
  mel: unknown,
  nMels: number,
  frames: number,
): Promise<Float32Array[]> {
  const c = resolveMelConfig(mel as never);
  const samples = await loadAudio(clip.path, { sampleRate: c.sampleRate, mono: true });
  const spec = logMelSpectrogram(samples, c);
  if (spec.nMels !== nMels)
    throw new DataError(`${clip.path}: ${spec.nMels} Mel bands, the model takes ${nMels}`);
  return evalCropOffsets(spec.nFrames, frames).map((off) => modelCrop(spec, off, frames, c));
}
