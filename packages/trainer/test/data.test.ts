import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { decodeAudioAsync, loadAudio, logMelSpectrogram, mixToMono, resample } from "@edge-audio/dsp";
import { afterAll, describe, expect, it } from "vitest";
import {
  cropFramesFor,
  defaultAugment,
  evalCropOffsets,
  extractCrop,
  mixup,
  specAugment,
} from "../src/crops.js";
import {
  type Clip,
  DatasetError,
  kFoldSplits,
  limitPerClass,
  listSplit,
  readClipList,
  scanDataset,
  stratifiedSplit,
  writeFoldLists,
} from "../src/dataset.js";
import { DEMO_LABELS, generateDemoCorpus, synthesizeClip } from "../src/demo.js";
import { defaultMelConfig, loadFeatures } from "../src/features.js";
import { classificationReport } from "../src/metrics.js";
import { Rng } from "../src/rng.js";

const tmp = mkdtempSync(join(tmpdir(), "trainer-data-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fakeClips(perClass: number[]): Clip[] {
  const out: Clip[] = [];
  perClass.forEach((n, k) => {
    for (let i = 0; i < n; i++)
      out.push({
        id: `c${k}/c${k}.${String(i).padStart(5, "0")}`,
        path: `/x/c${k}/c${k}.${String(i).padStart(5, "0")}.wav`,
        label: `c${k}`,
        labelIndex: k,
      });
  });
  return out;
}

/** Mean |dB change| of the top Mel band between two versions of a clip (frames 2 .. n - 3). */
function topBandChangeDb(a: Float32Array, b: Float32Array, fMax: number | undefined): number {
  const config = defaultMelConfig({ fMax });
  const sa = logMelSpectrogram(a, config);
  const sb = logMelSpectrogram(b, config);
  const m = config.nMels - 1;
  let sum = 0;
  for (let t = 2; t < sa.nFrames - 2; t++)
    sum += Math.abs(sa.data[m * sa.nFrames + t]! - sb.data[m * sb.nFrames + t]!);
  return sum / (sa.nFrames - 4);
}

describe("splits", () => {
  const clips = fakeClips([10, 10, 7, 12]);
  it("stratified hold-out is deterministic, per class 20 %, and disjoint", () => {
    const a = stratifiedSplit(clips, { seed: 3 });
    const b = stratifiedSplit([...clips].reverse(), { seed: 3 });
    expect(a.test.map((c) => c.id).sort()).toEqual(b.test.map((c) => c.id).sort());
    expect(a.test.filter((c) => c.labelIndex === 0)).toHaveLength(2);
    expect(a.test.filter((c) => c.labelIndex === 2)).toHaveLength(1);
    const ids = new Set(a.train.map((c) => c.id));
    expect(a.test.some((c) => ids.has(c.id))).toBe(false);
    expect(a.train.length + a.test.length).toBe(clips.length);
    const c = stratifiedSplit(clips, { seed: 4 });
    expect(c.test.map((x) => x.id).sort()).not.toEqual(a.test.map((x) => x.id).sort());
  });
  it("validation comes out of the training part", () => {
    const s = stratifiedSplit(clips, { seed: 1, valFraction: 0.2 });
    const all = [...s.train, ...s.val, ...s.test].map((c) => c.id);
    expect(new Set(all).size).toBe(clips.length);
    expect(s.val.length).toBeGreaterThan(0);
  });
  it("k-fold puts every clip in exactly one test fold, stratified", () => {
    const folds = kFoldSplits(clips, { folds: 5, seed: 2 });
    const seen = folds.flatMap((f) => f.test.map((c) => c.id));
    expect(seen.sort()).toEqual(clips.map((c) => c.id).sort());
    for (const f of folds) {
      expect(f.test.filter((c) => c.labelIndex === 0)).toHaveLength(2);
      const tr = new Set(f.train.map((c) => c.id));
      expect(f.test.some((c) => tr.has(c.id))).toBe(false);
    }
    expect(() => kFoldSplits(clips, { folds: 1, seed: 1 })).toThrow(/folds/);
  });
  it("list split matches by file stem and rejects unknown entries", () => {
    const list = join(tmp, "test.txt");
    writeFileSync(list, "# test clips\nc0/c0.00001.au\nc1.00003\n");
    const s = listSplit(clips, { testList: list });
    expect(s.test.map((c) => c.id)).toEqual(["c0/c0.00001", "c1/c1.00003"]);
    expect(s.train).toHaveLength(clips.length - 2);
    writeFileSync(list, "c9.00001\n");
    expect(() => listSplit(clips, { testList: list })).toThrow(/not in the data folder/);
  });
});

describe("fold lists", () => {
  const data = join(tmp, "folds-data");
  for (const label of ["jazz", "rock", "pop"])
    for (let i = 0; i < 6; i++) {
      mkdirSync(join(data, label), { recursive: true });
      writeFileSync(join(data, label, `${label}.0000${i}.wav`), "not decoded by the scan");
    }

  it("writes the test clips of train --folds K, one list per fold, that --test-list reads back", () => {
    const out = join(tmp, "fold-lists");
    const r = writeFoldLists({ data, folds: 3, seed: 7, out });
    expect(r.files).toEqual([1, 2, 3].map((i) => join(out, `fold-${i}.txt`)));
    expect(r.clipsPerFold).toEqual([6, 6, 6]);
    const clips = scanDataset(data).clips;
    const expected = kFoldSplits(clips, { folds: 3, seed: 7 });
    r.files.forEach((file, i) => {
      expect(readClipList(file)).toHaveLength(6);
      const split = listSplit(clips, { testList: file });
      expect(split.test.map((c) => c.id).sort()).toEqual(expected[i]!.test.map((c) => c.id).sort());
    });
  });

  it("takes --max-clips-per-class as training does, and refuses more folds than clips", () => {
    const r = writeFoldLists({
      data,
      folds: 2,
      seed: 1,
      maxClipsPerClass: 2,
      out: join(tmp, "fold-lists-2"),
    });
    expect(r.clipsPerFold).toEqual([3, 3]);
    expect(limitPerClass(scanDataset(data).clips, 2)).toHaveLength(6);
    expect(() => writeFoldLists({ data, folds: 19, seed: 1, out: join(tmp, "fold-lists-3") })).toThrow(
      /--folds 19 needs at least 19 clips.*has 18/,
    );
  });
});

describe("crops and augmentation", () => {
  it("3 s crops are 130 frames; eval crops cover the clip", () => {
    expect(cropFramesFor(3, 22050, 512)).toBe(130);
    expect(evalCropOffsets(100, 130)).toEqual([0]);
    expect(evalCropOffsets(733, 130)).toEqual([0, 121, 241, 362, 482, 603]);
  });
  it("extractCrop copies rows and pads short clips with the minimum", () => {
    const f = { nMels: 2, nFrames: 3, data: Float32Array.from([1, 2, 3, -5, 6, 7]) };
    const out = new Float32Array(2 * 4);
    extractCrop(f, 0, 4, out);
    expect(Array.from(out)).toEqual([1, 2, 3, -5, -5, 6, 7, -5]);
    const o2 = new Float32Array(2 * 2);
    extractCrop(f, 1, 2, o2);
    expect(Array.from(o2)).toEqual([2, 3, 6, 7]);
  });
  it("SpecAugment is seeded and masks with the crop mean", () => {
    const base = Float32Array.from({ length: 16 * 20 }, (_, i) => i % 7);
    const a = Float32Array.from(base);
    const b = Float32Array.from(base);
    const aug = { ...defaultAugment(), freqMaskWidth: 4, timeMaskWidth: 5 };
    specAugment(a, 0, 16, 20, aug, new Rng(5));
    specAugment(b, 0, 16, 20, aug, new Rng(5));
    expect(a).toEqual(b);
    expect(a).not.toEqual(base);
  });
  it("mixup keeps targets summing to one and mixes inputs with one lambda", () => {
    const x = Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]);
    const y = Float32Array.from([1, 0, 0, 1, 1, 0, 0, 1]);
    const lam = mixup(x, y, 4, 2, 0.4, new Rng(9));
    expect(lam).toBeGreaterThanOrEqual(0.5);
    for (let i = 0; i < 4; i++) expect(y[2 * i]! + y[2 * i + 1]!).toBeCloseTo(1, 6);
  });
});

describe("metrics", () => {
  it("confusion, precision, recall and F1", () => {
    const r = classificationReport([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ["a", "b", "c"]);
    expect(r.accuracy).toBeCloseTo(0.6);
    expect(r.confusion).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    expect(r.perClass[1]!.precision).toBeCloseTo(2 / 3);
    expect(r.perClass[1]!.recall).toBe(1);
    expect(r.perClass[2]!.f1).toBe(0);
  });
});

describe("demo corpus", () => {
  it("is deterministic, in GTZAN layout, labelled synthetic", () => {
    const a = synthesizeClip("synthetic-jazz", 3, { seconds: 1 });
    const b = synthesizeClip("synthetic-jazz", 3, { seconds: 1 });
    const c = synthesizeClip("synthetic-metal", 3, { seconds: 1 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(DEMO_LABELS).toHaveLength(10);
    const dir = join(tmp, "demo");
    const r = generateDemoCorpus({ out: dir, clipsPerClass: 2, seconds: 1 });
    expect(r.files).toHaveLength(20);
    expect(existsSync(join(dir, "synthetic-blues", "synthetic-blues.00001.wav"))).toBe(true);
    const ds = scanDataset(dir);
    expect(ds.labels).toEqual([...DEMO_LABELS]);
    expect(ds.labels.every((l) => l.startsWith("synthetic-"))).toBe(true);
  });

  it("writes 16-bit WAV that reads back within half a step of the synthesized samples", async () => {
    const dir = join(tmp, "demo-roundtrip");
    generateDemoCorpus({ out: dir, clipsPerClass: 1, seconds: 1, seed: 5 });
    const x = synthesizeClip("synthetic-rock", 0, { seconds: 1, seed: 5 });
    const y = await loadAudio(join(dir, "synthetic-rock", "synthetic-rock.00000.wav"), { sampleRate: 22050 });
    expect(y.length).toBe(x.length);
    // dsp's encoder scales by 32768, the inverse of the decoder's int / 32768, so the error is
    // the rounding alone (a 32767 scale would shrink every positive sample by 1/32768 as well)
    let worst = 0;
    for (let i = 0; i < x.length; i++) {
      const v = Math.max(-1, Math.min(32767 / 32768, x[i]!));
      worst = Math.max(worst, Math.abs(y[i]! - v));
    }
    expect(worst).toBeLessThanOrEqual(0.5 / 32768);
  });
});

describe("dataset folders", () => {
  it("explains an empty folder and a folder without label sub-folders", () => {
    const empty = join(tmp, "empty");
    mkdirSync(empty, { recursive: true });
    expect(() => scanDataset(empty)).toThrow(DatasetError);
    expect(() => scanDataset(empty)).toThrow(/<label>\/<file>/);
    writeFileSync(join(empty, "a.wav"), "x");
    expect(() => scanDataset(empty)).toThrow(/no label folders/);
    expect(() => scanDataset(join(tmp, "missing"))).toThrow(/does not exist/);
  });

  const real = resolve(__dirname, "../../../../shared/data/gtzan-mini");
  const haveReal = existsSync(real);
  if (!haveReal) console.warn(`skipping real-audio tests: ${real} is absent (see shared/data/README.md)`);
  it.skipIf(!haveReal)(
    "reads real GTZAN clips, skips a corrupt file with a warning, caches features",
    async () => {
      const root = join(tmp, "genres");
      for (const g of ["blues", "jazz"]) {
        mkdirSync(join(root, g), { recursive: true });
        for (const i of [0, 1])
          symlinkSync(join(real, g, `${g}.0000${i}.wav`), join(root, g, `${g}.0000${i}.wav`));
      }
      writeFileSync(join(root, "jazz", "jazz.00054.wav"), Buffer.from("RIFF\x10\x00\x00\x00WAVEjunkjunk"));
      const ds = scanDataset(tmp); // finds tmp/genres
      expect(ds.root).toBe(root);
      expect(ds.labels).toEqual(["blues", "jazz"]);
      expect(ds.clips).toHaveLength(5);
      const store = { config: defaultMelConfig(), cacheDir: join(tmp, "cache"), hits: 0, misses: 0 };
      const first = await loadFeatures(ds.clips, store);
      expect(first.skipped.map((s) => s.clip.id)).toEqual(["jazz/jazz.00054"]);
      expect(first.skipped[0]!.reason.length).toBeGreaterThan(0);
      expect(first.loaded).toHaveLength(4);
      expect(first.loaded[0]!.features.nMels).toBe(128);
      expect(first.loaded[0]!.features.nFrames).toBeGreaterThan(600);
      expect(store.misses).toBe(4);
      const again = await loadFeatures(ds.clips.slice(0, 4), store);
      expect(store.hits).toBe(4);
      expect(again.loaded[0]!.features.data).toEqual(first.loaded[0]!.features.data);
    },
  );

  it("new models' Mel bands reach the Nyquist frequency unless --fmax says otherwise", () => {
    expect(defaultMelConfig().fMax).toBe(11025);
    expect(defaultMelConfig({ sampleRate: 16000 }).fMax).toBe(8000);
    expect(defaultMelConfig({ fMax: 9922.5 }).fMax).toBe(9922.5);
    expect(defaultMelConfig({ fMax: undefined }).fMax).toBe(11025);
  });

  it.skipIf(!haveReal)(
    "with bands up to 0.9 of Nyquist a clip that went through 48 kHz gives the native clip's features; up to Nyquist it does not",
    async () => {
      // pop.00001 has energy up to the Nyquist frequency, which the upsampling default (passband
      // to 0.92 of 11025 Hz) removes on the way to 48 kHz
      const native = await loadAudio(join(real, "pop", "pop.00001.wav"), { sampleRate: 22050 });
      const back = resample(resample(native, 22050, 48000), 48000, 22050);
      expect(topBandChangeDb(native, back, 9922.5)).toBeLessThan(0.1);
      expect(topBandChangeDb(native, back, undefined)).toBeGreaterThan(3);
    },
  );

  it.skipIf(!haveReal)(
    "a 48 or 44.1 kHz copy that kept the top band comes back with it (within 1.5 dB) under the downsampling default; at a 0.92 passband it lost over 8 dB",
    async () => {
      const native = await loadAudio(join(real, "pop", "pop.00001.wav"), { sampleRate: 22050 });
      for (const rate of [44100, 48000]) {
        const copy = resample(native, 22050, rate, { rolloff: 0.995 });
        const back = resample(copy, rate, 22050);
        const narrow = resample(copy, rate, 22050, { rolloff: 0.92 });
        expect(topBandChangeDb(native, back, undefined), `${rate}`).toBeLessThan(1.5);
        expect(topBandChangeDb(native, narrow, undefined), `${rate}`).toBeGreaterThan(8);
      }
    },
  );

  it("MP3 and FLAC clips give the features of the whole-file decode, bit for bit", async () => {
    const fixtures = resolve(__dirname, "../../dsp/test/fixtures");
    const root = join(tmp, "compressed");
    for (const [label, name] of [
      ["mp3s", "tone.mp3"],
      ["flacs", "tone.flac"],
    ] as const) {
      mkdirSync(join(root, label), { recursive: true });
      copyFileSync(join(fixtures, name), join(root, label, name));
    }
    const config = defaultMelConfig();
    const { loaded, skipped } = await loadFeatures(scanDataset(root).clips, {
      config,
      cacheDir: null,
      hits: 0,
      misses: 0,
    });
    expect(skipped).toEqual([]);
    expect(loaded).toHaveLength(2);
    for (const clip of loaded) {
      // the path loadAudio streams: all the bytes decoded at once, then mixed and resampled
      const d = await decodeAudioAsync(readFileSync(clip.path), clip.path);
      const mono = resample(mixToMono(d.channels), d.sampleRate, config.sampleRate);
      expect(clip.features.data, clip.id).toEqual(logMelSpectrogram(mono, config).data);
    }
  });

  const au = resolve(__dirname, "../../../../shared/data/gtzan-au");
  if (!existsSync(au))
    console.warn(`skipping the .au layout test: ${au} is absent (see shared/data/README.md)`);
  it.skipIf(!existsSync(au))(
    "reads GTZAN's original .au layout (genres/<genre>/<genre>.000NN.au)",
    async () => {
      const top = join(tmp, "gtzan-original");
      for (const g of ["blues", "metal"]) {
        mkdirSync(join(top, "genres", g), { recursive: true });
        symlinkSync(join(au, `${g}.00000.au`), join(top, "genres", g, `${g}.00000.au`));
      }
      const ds = scanDataset(top);
      expect(ds.clips.map((c) => c.id)).toEqual(["blues/blues.00000", "metal/metal.00000"]);
      const { loaded, skipped } = await loadFeatures(ds.clips, {
        config: defaultMelConfig(),
        cacheDir: null,
        hits: 0,
        misses: 0,
      });
      expect(skipped).toEqual([]);
      // 661794 samples at 22050 Hz, hop 512, centred: 1 + floor(661794 / 512) frames.
      expect(loaded[0]!.features.nFrames).toBe(1 + Math.floor(661794 / 512));
    },
  );
});
