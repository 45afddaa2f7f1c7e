/**
 * Input through pi-runner: every format is decoded in pieces and gives the whole-file result;
 * input that is not whole is classified with a warning (or refused with --strict) the same way in
 * file, --stream and stdin modes; paths that are not regular files, random bytes named .mp3, a
 * hop longer than the frame, and long low-rate files; eval's decoding ahead on a second thread
 * gives the same results and errors.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultMelConfig, encodeWav, loadAudio } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// the built module: its worker is the built decode-worker.js beside it
import { DecodeAhead } from "../dist/decode-ahead.js";
import { Classifier } from "../src/classifier.js";

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, "../dist/cli.js");
const dspFixtures = resolve(here, "../../../packages/dsp/test/fixtures");
let dir: string;
let model: string;
let clf: Classifier;

function run(args: string[], input?: Uint8Array) {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8", timeout: 30_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== "EPIPE")
    throw new Error(`pi-runner ${args.join(" ")}: ${r.error.message}`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const lines = (s: string) =>
  s
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));

function tone(seconds: number, rate: number): Float32Array {
  return Float32Array.from(
    { length: Math.round(seconds * rate) },
    (_, i) =>
      0.4 * Math.sin((2 * Math.PI * 440 * i) / rate) + 0.2 * Math.sin((2 * Math.PI * 1234 * i) / rate),
  );
}

/** Sun/NeXT .au, 16-bit big-endian PCM. */
function auFile(channels: Float32Array[], rate: number): Uint8Array {
  const n = channels[0]!.length;
  const out = new Uint8Array(24 + n * channels.length * 2);
  const v = new DataView(out.buffer);
  out.set([0x2e, 0x73, 0x6e, 0x64]);
  v.setUint32(4, 24);
  v.setUint32(8, n * channels.length * 2);
  v.setUint32(12, 3);
  v.setUint32(16, rate);
  v.setUint32(20, channels.length);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels.length; c++)
      v.setInt16(24 + (i * channels.length + c) * 2, Math.round(channels[c]![i]! * 32767));
  return out;
}

function writeRandomModel(path: string, mel: Record<string, unknown>, height = 128, width = 130): void {
  const c = createRandomModel(
    { depth: 18, width: 0.0625, numClasses: 4, inputHeight: height, inputWidth: width },
    5,
  );
  c.labels = ["a", "b", "c", "d"];
  c.mel = mel as Record<string, number | string | boolean | null>;
  writeModel(path, c);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pi-runner-input-"));
  model = join(dir, "m.eam");
  writeRandomModel(model, defaultMelConfig() as unknown as Record<string, unknown>);
  clf = await Classifier.open(model, 1);
  writeFileSync(join(dir, "tone.wav"), encodeWav([tone(5, 22050)], 22050));
  writeFileSync(
    join(dir, "tone44.wav"),
    encodeWav([tone(5, 44100), tone(5, 44100).map((v) => -v * 0.5)], 44100),
  );
  writeFileSync(join(dir, "tone.au"), auFile([tone(4, 48000), tone(4, 48000)], 48000));
  writeFileSync(join(dir, "tone.mp3"), readFileSync(join(dspFixtures, "tone.mp3")));
  writeFileSync(join(dir, "tone.flac"), readFileSync(join(dspFixtures, "tone.flac")));
});
afterAll(async () => {
  await clf?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe("every format decoded in pieces", () => {
  it("clip mode equals the whole-file result bit for bit (WAV at and off the model rate, .au, MP3, FLAC)", async () => {
    for (const name of ["tone.wav", "tone44.wav", "tone.au", "tone.mp3", "tone.flac"]) {
      const f = join(dir, name);
      const got = await clf.classifyFile(f);
      const want = clf.classifySamples(await loadAudio(f, { sampleRate: clf.mel.sampleRate }));
      expect(got.mode).toBe("clip");
      expect(got.warnings).toEqual([]);
      expect(got.crops, name).toBe(want.crops);
      expect(Array.from(got.probs), name).toEqual(Array.from(want.probs));
    }
  });
});

describe("input that is not whole: one behaviour in every mode", () => {
  const cutFiles = () => {
    const wav = readFileSync(join(dir, "tone.wav"));
    const mp3 = readFileSync(join(dir, "tone.mp3"));
    const flac = readFileSync(join(dir, "tone.flac"));
    const out: Record<string, { bytes: Uint8Array; missing: RegExp }> = {
      "cut.wav": {
        bytes: wav.subarray(0, wav.length - 22050 * 2),
        missing: /declares 44100 more bytes than it holds \(1\.00 s of audio missing\)/,
      },
      "cut.mp3": { bytes: mp3.subarray(0, Math.floor(mp3.length / 2) + 5), missing: /missing/ },
      "cut.flac": {
        bytes: flac.subarray(0, Math.floor(flac.length / 2)),
        missing: /samples \(0\.\d\d s of audio\) are missing/,
      },
    };
    for (const [n, c] of Object.entries(out)) writeFileSync(join(dir, n), c.bytes);
    return out;
  };

  for (const mode of ["file", "--stream"] as const) {
    it(`${mode}: classified from what is there with a warning naming the file and what is missing; --strict refuses`, () => {
      const files = cutFiles();
      for (const [name, c] of Object.entries(files)) {
        const f = join(dir, name);
        const extra = mode === "--stream" ? ["--stream"] : [];
        const r = run(["classify", "--model", model, "--threads", "1", ...extra, f]);
        expect(r.code, `${name}: ${r.out} ${r.err}`).toBe(0);
        const [l] = lines(r.out);
        expect(l.error).toBeUndefined();
        expect(l.label).toBeDefined();
        const warning = r.err.trim().split("\n");
        expect(warning, name).toHaveLength(1);
        expect(warning[0]).toContain(`warning: ${f}: `);
        expect(warning[0]).toMatch(c.missing);
        const s = run(["classify", "--model", model, "--threads", "1", ...extra, "--strict", f]);
        expect(s.code).toBe(2);
        const [e] = lines(s.out);
        expect(e.error).toContain(f);
        expect(e.error).toMatch(c.missing);
        expect(e.error).toMatch(/--strict refuses/);
      }
    });
  }

  it("stdin: the same warning for a WAV stream whose data chunk claims more than arrives; --strict refuses", () => {
    const wav = readFileSync(join(dir, "tone.wav"));
    const cut = wav.subarray(0, wav.length - 22050 * 2);
    const r = run(["classify", "--model", model, "--threads", "1", "-"], cut);
    expect(r.code).toBe(0);
    expect(lines(r.out).filter((l) => l.segment !== undefined).length).toBeGreaterThan(0);
    expect(r.err.trim()).toMatch(
      /warning: standard input: the stream ends early: its 'data' chunk declares 44100 more bytes than arrived \(1\.00 s of audio missing\)/,
    );
    expect(r.err.trim().split("\n")).toHaveLength(1);
    const s = run(["classify", "--model", model, "--threads", "1", "--strict", "-"], cut);
    expect(s.code).not.toBe(0);
    expect(s.err).toMatch(/standard input: .*44100 more bytes.*--strict refuses/);
    // a whole stream: no warning
    const w = run(["classify", "--model", model, "--threads", "1", "--strict", "-"], wav);
    expect(w.code).toBe(0);
    expect(w.err).toBe("");
  });

  it("stdin: MP3 and FLAC streams are decoded as they arrive, a cut one warned about the same way", () => {
    const files = cutFiles();
    // the fixtures are 1 s and 0.5 s: a model whose window (16 frames, 0.37 s) fits in them
    const short = join(dir, "short.eam");
    writeRandomModel(short, defaultMelConfig() as unknown as Record<string, unknown>, 128, 16);
    for (const name of ["tone.mp3", "tone.flac"]) {
      const whole = readFileSync(join(dir, name));
      const w = run(["classify", "--model", short, "--threads", "1", "-"], whole);
      expect(w.code, w.err).toBe(0);
      expect(w.err).toBe("");
      const end = lines(w.out).find((l) => l.mode === "stdin");
      // as many samples at the model's rate as the file gives
      const asFile = lines(run(["classify", "--model", short, "--threads", "1", join(dir, name)]).out)[0];
      expect(end.samples / 22050).toBeCloseTo(asFile.seconds, 3);
      const cutName = name.replace("tone", "cut");
      // cut late enough to leave one window
      const cut = whole.subarray(0, Math.floor(whole.length * 0.85));
      const c = run(["classify", "--model", short, "--threads", "1", "-"], cut);
      expect(c.code, c.err).toBe(0);
      expect(c.err).toMatch(/warning: standard input: /);
      expect(c.err).toMatch(files[cutName]!.missing);
      const s = run(["classify", "--model", short, "--threads", "1", "--strict", "-"], cut);
      expect(s.code).not.toBe(0);
      expect(s.err).toMatch(/--strict refuses/);
    }
  });

  it("eval warns for a cut clip and counts it; with --strict it is skipped", () => {
    const data = join(dir, "data");
    for (const label of ["a", "b"]) {
      execFileSync("mkdir", ["-p", join(data, label)]);
      writeFileSync(join(data, label, "whole.wav"), readFileSync(join(dir, "tone.wav")));
    }
    writeFileSync(join(data, "a", "cut.mp3"), readFileSync(join(dir, "cut.mp3")));
    const r = run(["eval", "--model", model, "--data", data, "--threads", "1", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).clips).toBe(3);
    expect(r.err).toMatch(/warning: .*cut\.mp3: .*missing/);
    const s = run(["eval", "--model", model, "--data", data, "--threads", "1", "--json", "--strict"]);
    const rep = JSON.parse(s.out);
    expect(rep.clips).toBe(2);
    expect(rep.skipped[0].reason).toMatch(/cut\.mp3: .*--strict refuses/);
  });
});

describe("paths and bytes that are not audio files", () => {
  it("classify /dev/zero and a FIFO end at once with one line naming the path; - is the stream path", () => {
    const fifo = join(dir, "fifo.wav");
    let paths = ["/dev/zero"];
    try {
      execFileSync("mkfifo", [fifo]);
      paths = [...paths, fifo];
    } catch {
      console.log("mkfifo not available: the FIFO case is skipped");
    }
    for (const p of paths) {
      const r = run(["classify", "--model", model, "--threads", "1", p]);
      expect(r.code, p).toBe(2);
      const [l] = lines(r.out);
      expect(l.error).toMatch(new RegExp(`${p}: is not a regular file`));
    }
  });

  it("random bytes named .mp3 are refused with one line, without decoder chatter", () => {
    let s = 99;
    const junk = Uint8Array.from({ length: 5000 }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s >>> 24;
    });
    const f = join(dir, "junk.mp3");
    writeFileSync(f, junk);
    const r = run(["classify", "--model", model, "--threads", "1", f]);
    expect(r.code).toBe(2);
    expect(lines(r.out)[0].error).toMatch(/junk\.mp3: holds no valid MPEG audio frame/);
    expect(r.err).toBe(""); // no decoder chatter
  });
});

describe("front-end configurations and rates", () => {
  it("a hop longer than the frame works the same in file, --stream and stdin modes", () => {
    const m = join(dir, "hop.eam");
    writeRandomModel(
      m,
      { ...defaultMelConfig({ nFft: 256, winLength: 256, hopLength: 512, nMels: 32 }) },
      32,
    );
    const wav = encodeWav([tone(10, 22050)], 22050);
    const f = join(dir, "hop.wav");
    writeFileSync(f, wav);
    const a = run(["classify", "--model", m, "--threads", "1", f]);
    const b = run(["classify", "--model", m, "--threads", "1", "--stream", f]);
    const c = run(["classify", "--model", m, "--threads", "1", "-"], wav);
    for (const r of [a, b, c]) {
      expect(r.code, r.err).toBe(0);
      expect(r.err).toBe("");
    }
    expect(lines(b.out)[0].mode).toBe("stream");
    expect(lines(c.out).filter((l) => l.segment !== undefined).length).toBe(lines(b.out)[0].crops);
  });

  it("memory follows the duration, not the file size: a long low-rate file is streamed", () => {
    // 26 minutes at 1 kHz is 3 MB of WAV, far below any size threshold, but longer than
    // STREAM_SECONDS: it is classified window by window instead of as one clip
    const m = join(dir, "k1.eam");
    writeRandomModel(
      m,
      {
        ...defaultMelConfig({
          sampleRate: 1000,
          nFft: 64,
          winLength: 64,
          hopLength: 32,
          nMels: 16,
          fMax: 500,
        }),
      },
      16,
    );
    const f = join(dir, "long1k.wav");
    writeFileSync(f, encodeWav([tone(26 * 60, 1000).map((v) => v * 0.9)], 1000));
    const r = run(["classify", "--model", m, "--threads", "1", f]);
    expect(r.code, r.err).toBe(0);
    const [l] = lines(r.out);
    expect(l.mode).toBe("stream");
    expect(l.seconds).toBeCloseTo(26 * 60, 3);
  });
});

describe("decoding ahead on a second thread (eval)", () => {
  it("gives the main thread's result and warnings for MP3 and FLAC, a cut MP3 included; leaves WAV and .au to it", async () => {
    const mp3 = readFileSync(join(dir, "tone.mp3"));
    writeFileSync(join(dir, "ahead-cut.mp3"), mp3.subarray(0, Math.floor(mp3.length * 0.6)));
    const names = ["tone.mp3", "tone.flac", "ahead-cut.mp3"];
    const ahead = new DecodeAhead(clf.mel.sampleRate);
    try {
      // all asked for at once: the worker runs ahead of the classification by several files
      for (const n of names) ahead.request(join(dir, n));
      for (const n of names) {
        const f = join(dir, n);
        const input = await ahead.take(f);
        expect(input, n).not.toBeNull();
        const got = await clf.classifyInput(input!);
        const want = await clf.classifyFile(f);
        expect(got.crops, n).toBe(want.crops);
        expect(Array.from(got.probs), n).toEqual(Array.from(want.probs));
        expect(got.warnings, n).toEqual(want.warnings);
      }
      expect((await clf.classifyFile(join(dir, "ahead-cut.mp3"))).warnings.join()).toMatch(/missing/);
      for (const n of ["tone.wav", "tone.au"]) {
        ahead.request(join(dir, n));
        expect(await ahead.take(join(dir, n)), n).toBeNull();
      }
    } finally {
      await ahead.close();
    }
  });

  it("refuses what the main thread refuses with its message; declines files of unknown or too long a duration", async () => {
    const gone = join(dir, "ahead-gone.mp3");
    const want = await clf.classifyFile(gone).then(
      () => "classified",
      (e: Error) => e.message,
    );
    expect(want).toMatch(/ahead-gone\.mp3: no such file/);
    // random bytes named .mp3 declare no duration: left to the main thread
    const noise = join(dir, "ahead-noise.mp3");
    writeFileSync(
      noise,
      Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919 + 13) % 251),
    );
    const ahead = new DecodeAhead(clf.mel.sampleRate);
    const small = new DecodeAhead(clf.mel.sampleRate, 1000);
    try {
      ahead.request(gone);
      await expect(ahead.take(gone)).rejects.toThrow(want);
      ahead.request(noise);
      expect(await ahead.take(noise)).toBeNull();
      small.request(join(dir, "tone.mp3"));
      expect(await small.take(join(dir, "tone.mp3"))).toBeNull();
      await expect(ahead.take(join(dir, "never-asked.wav"))).rejects.toThrow(/was not requested/);
    } finally {
      await ahead.close();
      await small.close();
    }
  });
});
