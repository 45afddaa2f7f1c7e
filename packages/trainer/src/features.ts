/**
 * Log-Mel features from @edge-audio/dsp (the same code and configuration the engine is served
 * with), cached on disk keyed by the file's content hash and the configuration.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  clipTopDb,
  decodeAudioAsync,
  defaultMelConfig as dspDefaultMelConfig,
  logMelSpectrogram,
  type MelConfig,
  type MelNormalization,
  mixToMono,
  resample,
} from "@edge-audio/dsp";
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
 * The trainer's Mel configuration: the dsp defaults (librosa: 22050 Hz, 2048/512, 128 bands,
 * top_db 80) plus the default crop normalisation, with any overrides applied.
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

/** Decodes a file, mixes to mono, resamples to the configuration's rate. */
async function decodeMono(bytes: Uint8Array, path: string, sampleRate: number): Promise<Float32Array> {
  const audio = await decodeAudioAsync(bytes, path);
  if (!audio.channels.length || audio.channels[0]!.length === 0)
    throw new Error("the file holds no audio samples");
  const mono = mixToMono(audio.channels);
  return audio.sampleRate === sampleRate ? mono : resample(mono, audio.sampleRate, sampleRate);
}

export interface FeatureStore {
  config: MelConfig;
  cacheDir: string | null;
  hits: number;
  misses: number;
}

/**
 * Features of one clip. Reads the file, hashes its bytes, and returns the cached features for
 * (content, configuration) when present; computes and stores them otherwise.
 */
export async function clipFeatures(clip: Clip, store: FeatureStore): Promise<Features> {
  const bytes = readFileSync(clip.path);
  const key = `${createHash("sha256").update(bytes).digest("hex").slice(0, 32)}-${configHash(store.config)}`;
  const file = store.cacheDir ? join(store.cacheDir, `${key}.f32`) : null;
  if (file && existsSync(file)) {
    const buf = readFileSync(file);
    const nMels = buf.readUInt32LE(0);
    const nFrames = buf.readUInt32LE(4);
    if (buf.length === 8 + 4 * nMels * nFrames) {
      store.hits++;
      const data = new Float32Array(nMels * nFrames);
      new Uint8Array(data.buffer).set(buf.subarray(8));
      return { data, nMels, nFrames };
    }
  }
  const samples = await decodeMono(bytes, clip.path, store.config.sampleRate);
  const f = logMelSpectrogram(samples, store.config);
  const feats: Features = { data: Float32Array.from(f.data), nMels: f.nMels, nFrames: f.nFrames };
  store.misses++;
  if (file && store.cacheDir) {
    mkdirSync(store.cacheDir, { recursive: true });
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
  return feats;
}

export interface LoadedClip extends Clip {
  features: Features;
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
): Promise<{ loaded: LoadedClip[]; skipped: Skipped[] }> {
  const loaded: LoadedClip[] = [];
  const skipped: Skipped[] = [];
  let i = 0;
  for (const clip of clips) {
    try {
      const features = await clipFeatures(clip, store);
      if (features.nFrames < 1) throw new Error("no frames");
      loaded.push({ ...clip, features });
    } catch (e) {
      skipped.push({ clip, reason: (e as Error).message.split("\n")[0] ?? String(e) });
    }
    onProgress?.(++i, clips.length);
  }
  return { loaded, skipped };
}
