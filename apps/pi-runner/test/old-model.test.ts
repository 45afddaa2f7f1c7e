/**
 * A model file written before the Mel configuration had a `normalization` field
 * (test/fixtures/old-model-r18w0625.eam: random weights, ResNet-18 width 0.0625, today's librosa
 * defaults) must keep its exact behaviour: the probabilities below were computed by the code of
 * that time (commit 5874482) and are compared bit for bit, in clip mode, WAV streaming mode and
 * the live window stream.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeWav } from "@edge-audio/dsp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Classifier } from "../src/classifier.js";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const expected = JSON.parse(readFileSync(join(fixtures, "old-model-expected.json"), "utf8")) as {
  clip: { crops: number; probs: string[] };
  stream: { crops: number; probs: string[] };
  windows: string[][];
};

/** The test signal, in integer arithmetic only (saw + square in three level sections, noise bursts). */
function oldModelSignal(n: number): Int16Array {
  const out = new Int16Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const saw = ((i % 100) - 50) * 160;
    const square = Math.floor(i / 37) % 2 ? 2500 : -2500;
    const k = i % 5512;
    const burst = k < 1200 ? Math.trunc((((s >>> 16) - 32768) * (1200 - k)) / 4800) : 0;
    const section = Math.floor(i / 22050) % 3;
    out[i] = Math.max(-32768, Math.min(32767, ((saw + square) >> section) + burst));
  }
  return out;
}

const bits = (p: Float32Array) =>
  Array.from(new Uint32Array(Float32Array.from(p).buffer), (u) => u.toString(16).padStart(8, "0"));

let clf: Classifier;
let wav: string;
let dir: string | undefined;
let samples: Float32Array;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pi-runner-old-model-"));
  samples = Float32Array.from(oldModelSignal(22050 * 7 + 321), (v) => v / 32768);
  wav = join(dir, "signal.wav");
  writeFileSync(wav, encodeWav([samples], 22050));
  clf = await Classifier.open(join(fixtures, "old-model-r18w0625.eam"), 1);
});
afterAll(async () => {
  await clf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a model file without a normalization field", () => {
  it("gives the same probabilities, bit for bit, as the code it was written with (clip mode)", async () => {
    const r = await clf.classifyFile(wav, { stream: false });
    expect(r.crops).toBe(expected.clip.crops);
    expect(bits(r.probs)).toEqual(expected.clip.probs);
  });

  it("and in WAV streaming mode", async () => {
    const r = await clf.classifyFile(wav, { stream: true });
    expect(r.mode).toBe("stream");
    expect(r.crops).toBe(expected.stream.crops);
    expect(bits(r.probs)).toEqual(expected.stream.probs);
  });

  it("and window by window on a live stream", () => {
    const windows: string[][] = [];
    const s = clf.stream((w) => windows.push(bits(w.probs)));
    for (let i = 0; i < samples.length; i += 4000) s.push(samples.subarray(i, i + 4000));
    s.end();
    expect(windows).toEqual(expected.windows);
  });
});
