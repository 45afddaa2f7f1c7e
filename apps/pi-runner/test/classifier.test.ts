/**
 * Classifier.classifyFile makes the log-Mel spectrogram of WAV and .au files as they are decoded
 * (without holding the clip's samples); the result must be the whole-clip result bit for bit.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultMelConfig, encodeWav, loadAudio } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Classifier } from "../src/classifier.js";

const shared = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/data");
let dir: string;
let clf: Classifier;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pi-runner-clf-"));
  const model = join(dir, "r18.eam");
  const c = createRandomModel({ depth: 18, width: 0.125, numClasses: 10 }, 11);
  c.mel = defaultMelConfig() as unknown as Record<string, number | string | boolean | null>;
  writeModel(model, c);
  clf = await Classifier.open(model, 1);
});
afterAll(async () => {
  await clf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** IEEE float 32-bit WAV (format tag 3). */
function floatWav(channels: Float32Array[], rate: number): Uint8Array {
  const nch = channels.length;
  const n = channels[0]!.length;
  const out = new Uint8Array(44 + n * nch * 4);
  const v = new DataView(out.buffer);
  out.set(encodeWav([new Float32Array(0)], rate).subarray(0, 44));
  v.setUint32(4, out.length - 8, true);
  v.setUint16(20, 3, true);
  v.setUint16(22, nch, true);
  v.setUint32(28, rate * nch * 4, true);
  v.setUint16(32, nch * 4, true);
  v.setUint16(34, 32, true);
  v.setUint32(40, n * nch * 4, true);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < nch; c++) v.setFloat32(44 + (i * nch + c) * 4, channels[c]![i]!, true);
  return out;
}

function signal(n: number, seed: number): Float32Array {
  return Float32Array.from(
    { length: n },
    (_, i) => 0.4 * Math.sin(i * 0.02 * seed) + 0.1 * Math.sin(i * 0.31),
  );
}

describe("classifyFile", () => {
  it("gives exactly the whole-clip probabilities for WAV files of any layout", async () => {
    const files: string[] = [];
    for (const [name, channels, n, float] of [
      ["mono", 1, 22050 * 5 + 17, false],
      ["stereo", 2, 22050 * 4, false],
      ["short", 1, 9000, false],
      ["float-3ch", 3, 22050 * 3 + 1, true],
    ] as const) {
      const f = join(dir, `${name}.wav`);
      const ch = Array.from({ length: channels }, (_, c) => signal(n, c + 2));
      writeFileSync(f, float ? floatWav(ch, 22050) : encodeWav(ch, 22050));
      files.push(f);
    }
    const au = join(shared, "gtzan-au", "blues.00000.au");
    if (existsSync(au)) files.push(au);
    for (const f of files) {
      const r = await clf.classifyFile(f);
      const whole = clf.classifySamples(await loadAudio(f, { sampleRate: 22050 }));
      expect(r.mode).toBe("clip");
      expect(r.crops, f).toBe(whole.crops);
      expect(r.seconds, f).toBe(whole.seconds);
      expect(Buffer.from(r.probs.buffer).equals(Buffer.from(whole.probs.buffer)), f).toBe(true);
    }
  });

  it("still decodes other rates whole and resamples them", async () => {
    const f = join(dir, "r44.wav");
    writeFileSync(f, encodeWav([signal(44100 * 4, 3)], 44100));
    const r = await clf.classifyFile(f);
    const whole = clf.classifySamples(await loadAudio(f, { sampleRate: 22050 }));
    expect(Buffer.from(r.probs.buffer).equals(Buffer.from(whole.probs.buffer))).toBe(true);
  });
});
