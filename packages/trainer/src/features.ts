/**
 * Log-Mel features from @edge-audio/dsp (the same code and configuration the engine is served
 * with), cached on disk keyed by the file's content hash and the configuration.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  clipTopDb,
  defaultMelConfig as dspDefaultMelConfig,
  loadAudio,
  logMelSpectrogram,
  type MelConfig,
  type MelNormalization,
} from "@edge-audio/dsp";
import { type AudioAugmentConfig, augmentKey, augmentSamples, variantRng } from "./augment-audio.js";
import type { Clip } from "./dataset.js";

export interface Features {
  /** Row-major [nMels][nFrames]: data[m * nFrames + t]. */
  data: Float32Array;
  nMels: number;
  nFrames: number;
}

export type { MelConfig };

/**
 * The crop normalisation of new models (see the trainer README, "Features", for the measurements
 * behind the choice). Models written before it existed carry no field and keep absolute dB.
 */
export const DEFAULT_NORMALIZATION: MelNormalization = "crop-max";

/**
 * The trainer's Mel configuration: the dsp defaults (librosa: 22050 Hz, 2048/512, 128 bands up
 * to the Nyquist frequency, top_db 80) plus the default crop normalisation, with any overrides
 * applied. `fMax` stays at the Nyquist frequency: bands that stop at 0.9 of it make resampled
 * input (MP3 at 44.1 kHz, 48 kHz) give the native clip's features, but cost 13.8 points of clean
 * clip accuracy in the gtzan-mini 5-fold CV (trainer README, "Results").
 */
export function defaultMelConfig(overrides: Partial<MelConfig> = {}): MelConfig {
  return dspDefaultMelConfig({ normalization: DEFAULT_NORMALIZATION, ...overrides });
}

function stableJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  return `{${Object.keys(v as object)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
    .join(",")}}`;
}

/**
 * Hash of what determines a clip's cached spectrogram. The crop normalisation is applied to each
 * crop later, so only its effect on the whole-clip clamp (clipTopDb) counts: crop-max and
 * crop-mean share the cache.
 */
export function configHash(config: MelConfig): string {
  const { normalization: _perCrop, ...clip } = config;
  const spectrogram = { ...clip, topDb: clipTopDb(config) };
  return createHash("sha256").update(stableJson(spectrogram)).digest("hex").slice(0, 16);
}

export interface FeatureStore {
  config: MelConfig;
  cacheDir: string | null;
  hits: number;
  misses: number;
}

function readCached(file: string | null): Features | null {
  if (!file || !existsSync(file)) return null;
  const buf = readFileSync(file);
  const nMels = buf.readUInt32LE(0);
  const nFrames = buf.readUInt32LE(4);
  if (buf.length !== 8 + 4 * nMels * nFrames) return null;
  const data = new Float32Array(nMels * nFrames);
  new Uint8Array(data.buffer).set(buf.subarray(8));
  return { data, nMels, nFrames };
}

function writeCached(file: string | null, feats: Features): void {
  if (!file) return;
  mkdirSync(dirname(file), { recursive: true });
  const head = Buffer.alloc(8);
  head.writeUInt32LE(feats.nMels, 0);
  head.writeUInt32LE(feats.nFrames, 4);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(
    tmp,
    Buffer.concat([head, Buffer.from(feats.data.buffer, feats.data.byteOffset, feats.data.byteLength)]),
  );
  renameSync(tmp, file);
}

function spectrogram(samples: Float32Array, config: MelConfig): Features {
  const f = logMelSpectrogram(samples, config);
  return { data: Float32Array.from(f.data), nMels: f.nMels, nFrames: f.nFrames };
}

/** SHA-256 of a file's bytes, read in pieces (a long song is never held whole). */
async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const piece of createReadStream(path)) hash.update(piece as Buffer);
  return hash.digest("hex");
}

/** What a clip's features are made from: its bytes' hash and the spectrogram configuration. */
async function cacheBase(path: string, store: FeatureStore): Promise<string | null> {
  if (!store.cacheDir) return null;
  const key = `${(await fileSha256(path)).slice(0, 32)}-${configHash(store.config)}`;
  return join(store.cacheDir, key);
}

/**
 * Features of one clip. Hashes the file's bytes and returns the cached features for
 * (content, configuration) when present; computes and stores them otherwise.
 */
export async function clipFeatures(clip: Clip, store: FeatureStore): Promise<Features> {
  return (await clipFeatureCopies(clip, store, null))[0]!;
}

/**
 * The clean features of a clip followed by those of its audio-augmented copies (augmentSamples
 * with the copy's own seed), each cached under the clip's content hash, the configuration and
 * the copy's recipe. The file is decoded once, and only when something is not cached, by dsp's
 * loadAudio (mono at the configuration's rate; MP3 and FLAC decoded and resampled as they are read).
 */
export async function clipFeatureCopies(
  clip: Clip,
  store: FeatureStore,
  augment: { config: AudioAugmentConfig; seed: number } | null,
): Promise<Features[]> {
  const base = await cacheBase(clip.path, store);
  const copies = augment?.config.variants ?? 0;
  const files = [base && `${base}.f32`];
  for (let v = 1; v <= copies; v++) {
    const recipe = createHash("sha256")
      .update(augmentKey(augment!.config, v, augment!.seed))
      .digest("hex");
    files.push(base && `${base}-aug${recipe.slice(0, 16)}.f32`);
  }
  const out = files.map(readCached);
  store.hits += out.filter(Boolean).length;
  if (out.every(Boolean)) return out as Features[];
  const samples = await loadAudio(clip.path, { sampleRate: store.config.sampleRate, mono: true });
  for (let v = 0; v < out.length; v++) {
    if (out[v]) continue;
    const x =
      v === 0
        ? samples
        : augmentSamples(
            samples,
            store.config.sampleRate,
            augment!.config,
            variantRng(clip.id, v, augment!.seed),
          );
    out[v] = spectrogram(x, store.config);
    writeCached(files[v]!, out[v]!);
    store.misses++;
  }
  return out as Features[];
}

export interface LoadedClip extends Clip {
  features: Features;
  /** Features of the clip's audio-augmented copies (empty without audio augmentation). */
  copies: Features[];
}

export interface Skipped {
  clip: Clip;
  reason: string;
}

/**
 * Features for a list of clips. Files that cannot be decoded are skipped and reported once
 * each with the reason (a corrupt file is a warning, not a crash).
 */
export async function loadFeatures(
  clips: Clip[],
  store: FeatureStore,
  onProgress?: (done: number, total: number) => void,
  augment: { config: AudioAugmentConfig; seed: number } | null = null,
): Promise<{ loaded: LoadedClip[]; skipped: Skipped[] }> {
  const loaded: LoadedClip[] = [];
  const skipped: Skipped[] = [];
  let i = 0;
  for (const clip of clips) {
    try {
      const [features, ...copies] = await clipFeatureCopies(clip, store, augment);
      if (features!.nFrames < 1) throw new Error("no frames");
      loaded.push({ ...clip, features: features!, copies });
    } catch (e) {
      skipped.push({ clip, reason: (e as Error).message.split("\n")[0] ?? String(e) });
    }
    onProgress?.(++i, clips.length);
  }
  return { loaded, skipped };
}
