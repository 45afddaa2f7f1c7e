/**
 * Bad input through the runner: audio edge cases (clip and streaming modes), corrupt model files
 * through `pi-runner info` (one line, no stack), hostile model metadata (nothing followed).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultMelConfig, encodeWav } from "@edge-audio/dsp";
import { crc32, createRandomModel, readModelHeader, writeModel } from "@edge-audio/engine-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, "../dist/cli.js");
const repo = resolve(here, "../../..");
const LABELS = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"];

let dir: string;
let model: string;

function run(args: string[], opts: { input?: Uint8Array; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    input: opts.input,
    env: opts.env ?? process.env,
    encoding: "utf8",
    timeout: 60_000,
  });
  // EPIPE: the runner refused the input and exited before reading all of it
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

function tone(seconds: number, rate: number, amp = 0.3): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++)
    x[i] = amp * (Math.sin((2 * Math.PI * 330 * i) / rate) + 0.5 * Math.sin((2 * Math.PI * 1870 * i) / rate));
  return x;
}

/** WAV with the given layout (PCM 8/24 or float32), interleaving the channels. */
function wav(channels: Float32Array[], rate: number, bits: 8 | 16 | 24 | 32, float = false): Uint8Array {
  if (bits === 16 && !float) return encodeWav(channels, rate);
  const n = channels[0]!.length;
  const bps = bits / 8;
  const data = n * channels.length * bps;
  const b = new Uint8Array(44 + data);
  const v = new DataView(b.buffer);
  b.set([82, 73, 70, 70]);
  v.setUint32(4, 36 + data, true);
  b.set([87, 65, 86, 69, 102, 109, 116, 32], 8);
  v.setUint32(16, 16, true);
  v.setUint16(20, float ? 3 : 1, true);
  v.setUint16(22, channels.length, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * channels.length * bps, true);
  v.setUint16(32, channels.length * bps, true);
  v.setUint16(34, bits, true);
  b.set([100, 97, 116, 97], 36);
  v.setUint32(40, data, true);
  let p = 44;
  for (let i = 0; i < n; i++)
    for (const ch of channels) {
      const x = ch[i]!;
      if (float) v.setFloat32(p, x, true);
      else if (bits === 8) b[p] = Math.max(0, Math.min(255, Math.round(x * 128) + 128));
      else {
        const q = Math.max(-8388608, Math.min(8388607, Math.round(x * 8388608)));
        b[p] = q & 0xff;
        b[p + 1] = (q >> 8) & 0xff;
        b[p + 2] = (q >> 16) & 0xff;
      }
      p += bps;
    }
  return b;
}

const files: Record<string, Uint8Array> = {};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pi-runner-hard-"));
  model = join(dir, "r18.eam");
  const c = createRandomModel({ depth: 18, width: 0.125, numClasses: 10 }, 3);
  c.labels = LABELS;
  c.mel = defaultMelConfig() as unknown as Record<string, number | string | boolean | null>;
  writeModel(model, c);
  const t = tone(4, 22050);
  const nan = tone(4, 22050);
  nan[1000] = Number.NaN;
  const inf = tone(4, 22050);
  inf[5] = Number.POSITIVE_INFINITY;
  const square = Float32Array.from({ length: 4 * 22050 }, (_, i) => (Math.floor(i / 50) % 2 ? 1 : -1));
  Object.assign(files, {
    "empty.wav": new Uint8Array(0),
    "header-only.wav": encodeWav([new Float32Array(0)], 22050),
    "short.wav": encodeWav([tone(100 / 22050, 22050)], 22050),
    "silence.wav": encodeWav([new Float32Array(4 * 22050)], 22050),
    "clipping.wav": encodeWav([square], 22050),
    "nan.wav": wav([nan], 22050, 32, true),
    "inf.wav": wav([inf], 22050, 32, true),
    "s16.wav": encodeWav([t], 22050),
    "u8.wav": wav([t], 22050, 8),
    "s24.wav": wav([t], 22050, 24),
    "f32.wav": wav([t], 22050, 32, true),
    "stereo.wav": encodeWav([t, t], 22050),
    "8k.wav": encodeWav([tone(4, 8000)], 8000),
    "44k.wav": encodeWav([tone(4, 44100)], 44100),
    "48k.wav": wav([tone(4, 48000)], 48000, 24),
  });
  for (const [name, b] of Object.entries(files)) writeFileSync(join(dir, name), b);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("audio edge cases through pi-runner classify", () => {
  for (const mode of ["clip", "stream"] as const) {
    it(`${mode} mode: labels for every valid layout and rate, one-line errors for the rest`, () => {
      const names = Object.keys(files);
      const args = ["classify", "--model", model, "--threads", "1", "--top", "10"];
      if (mode === "stream") args.push("--stream");
      const r = run([...args, ...names.map((n) => join(dir, n))]);
      expect(r.code).toBe(2); // some files are refused (an input error)
      expect(r.err).toBe("");
      const out = Object.fromEntries(lines(r.out).map((l) => [l.file.slice(dir.length + 1), l]));
      expect(Object.keys(out).sort()).toEqual(names.sort());
      const refused: Record<string, RegExp> = {
        "empty.wav": /empty/,
        "header-only.wav": /no audio samples/,
        "nan.wav": /NaN/,
        "inf.wav": /Infinity/,
      };
      for (const [name, why] of Object.entries(refused)) {
        expect(out[name].error, name).toMatch(why);
        expect(out[name].error).toContain(join(dir, name));
        expect(out[name].error).not.toContain("\n");
      }
      const probs = (name: string) => {
        const l = out[name];
        expect(l.error, `${name}: ${l.error}`).toBeUndefined();
        expect(LABELS).toContain(l.label);
        const p = l.top.map((t: { p: number }) => t.p);
        expect(p.every(Number.isFinite)).toBe(true);
        expect(p.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 3);
        return Object.fromEntries(l.top.map((t: { label: string; p: number }) => [t.label, t.p]));
      };
      for (const name of names) if (!(name in refused)) probs(name);
      // shorter than one window: decoded whole even when streaming is asked for
      expect(out["short.wav"].mode).toBe("clip");
      expect(out["short.wav"].seconds).toBeCloseTo(100 / 22050, 2);
      const longMode = mode === "stream" ? "stream" : "clip";
      for (const name of ["s16.wav", "44k.wav", "48k.wav", "8k.wav", "stereo.wav"])
        expect(out[name].mode, name).toBe(longMode);
      // same audio, other layouts: identical (stereo of two equal channels) or close (quantisation)
      expect(probs("stereo.wav")).toEqual(probs("s16.wav"));
      for (const name of ["s24.wav", "f32.wav", "u8.wav", "44k.wav", "48k.wav"]) {
        const a = probs(name);
        const b = probs("s16.wav");
        // the top five of each (the runner reports at most five)
        for (const l of Object.keys(b))
          if (l in a)
            expect(Math.abs(a[l] - b[l]), `${name} ${l}`).toBeLessThan(name === "u8.wav" ? 0.05 : 0.01);
      }
      for (const name of ["s16.wav", "44k.wav", "8k.wav"]) expect(out[name].seconds).toBeCloseTo(4, 3);
    });
  }

  it("stream mode equals the mean of the windows `classify -` prints for the same bytes", () => {
    const f = join(dir, "long.wav");
    writeFileSync(f, encodeWav([tone(20, 22050, 0.5)], 22050));
    const file = lines(
      run(["classify", "--model", model, "--threads", "1", "--top", "10", "--stream", f]).out,
    )[0];
    expect(file.mode).toBe("stream");
    const windows = lines(
      run(["classify", "--model", model, "--threads", "1", "--top", "10", "-"], { input: readFileSync(f) })
        .out,
    ).filter((l) => l.segment !== undefined);
    expect(file.crops).toBe(windows.length);
    expect(windows.length).toBe(Math.floor((1 + Math.floor((20 * 22050) / 512)) / 130));
    for (const { label, p } of file.top) {
      const mean =
        windows.reduce((a, w) => a + w.top.find((t: { label: string }) => t.label === label).p, 0) /
        windows.length;
      expect(p).toBeCloseTo(mean, 4);
    }
  });

  it("stream mode classifies a WAV whose data chunk claims more bytes than the file holds, with a warning; --strict refuses it", () => {
    const f = join(dir, "lying.wav");
    const b = encodeWav([tone(6, 22050)], 22050);
    writeFileSync(f, b.subarray(0, b.length - 1000));
    const r = run(["classify", "--model", model, "--threads", "1", "--stream", f]);
    const [l] = lines(r.out);
    expect(l.error).toBeUndefined();
    expect(l.mode).toBe("stream");
    expect(r.err).toContain(`warning: ${f}: the file ends early: its 'data' chunk declares 1000 more bytes`);
    const s = run(["classify", "--model", model, "--threads", "1", "--stream", "--strict", f]);
    expect(lines(s.out)[0].error).toMatch(/declares 1000 more bytes .*--strict refuses/);
  });
});

describe("classify - on streams that stop or carry bad samples", () => {
  it("a stream cut in the header, mid-sample, or carrying NaN ends with one line and no hang", () => {
    const full = encodeWav([tone(5, 22050)], 22050);
    // cut inside the header: refused, one line on stderr
    let r = run(["classify", "--model", model, "--threads", "1", "-"], { input: full.subarray(0, 30) });
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/ended before a complete WAV header/);
    // cut after 1.5 windows, in the middle of a sample: one window, then the overall result
    const cut = 44 + 2 * Math.round(1.5 * 130 * 512) + 1;
    r = run(["classify", "--model", model, "--threads", "1", "-"], { input: full.subarray(0, cut) });
    expect(r.code).toBe(0);
    const out = lines(r.out);
    expect(out.filter((l) => l.segment !== undefined)).toHaveLength(1);
    expect(out.at(-1)).toMatchObject({ mode: "stdin", crops: 1, samples: Math.round(1.5 * 130 * 512) });
    expect(out.at(-1).warning).toMatch(/stopped mid-sample \(1 trailing bytes/);
    // an empty stream
    r = run(["classify", "--model", model, "--threads", "1", "-"], { input: new Uint8Array(0) });
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    // float samples with a NaN: refused with one line naming the problem
    r = run(["classify", "--model", model, "--threads", "1", "-"], { input: files["nan.wav"] });
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n"), r.err).toHaveLength(1);
    expect(r.err).toMatch(/NaN|non-finite|finite/i);
    expect(r.err).not.toMatch(/\s+at /);
  });
});

/** Recomputes the header checksum after an edit. */
function fixCrc(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hl = Number(dv.getBigUint64(24, true));
  dv.setUint32(60, crc32(b.subarray(64, hl), crc32(b.subarray(0, 60))), true);
  return b;
}

describe("corrupt model files through pi-runner info", () => {
  it("each is refused with exit status 2 (an input error) and one line naming the file and the section", () => {
    const good = new Uint8Array(readFileSync(model));
    const h = readModelHeader(good);
    const t = h.tensors[3]!;
    const cases: [string, Uint8Array, RegExp][] = [];
    const edit = (f: (b: Uint8Array) => void) => {
      const b = good.slice();
      f(b);
      return b;
    };
    cases.push(["empty file", new Uint8Array(0), /\(file\): truncated/]);
    cases.push(["wrong magic", edit((b) => b.set([80, 75, 3, 4])), /\(magic\): not an \.eam/]);
    cases.push([
      "newer version",
      fixCrc(edit((b) => (b[4] = 9))),
      /\(version\): format version 9\.\d+ is newer/,
    ]);
    cases.push(["flipped header byte", edit((b) => (b[20]! ^= 1)), /\(header\): header checksum mismatch/]);
    // a byte offset: the header holds binary fields, so an index into decoded text can be off
    const g = Buffer.from(good.buffer, 0, h.headerLength).indexOf('"op":"conv"');
    expect(g).toBeGreaterThan(0);
    cases.push([
      "flipped graph byte",
      edit((b) => (b[g + 2]! ^= 0x20)),
      /\(header\): header checksum mismatch/,
    ]);
    cases.push([
      "graph edited, checksum repaired",
      fixCrc(edit((b) => b.set(new TextEncoder().encode('"op":"cxnv"'), g))),
      /\(graph\): layer .*unsupported op "cxnv"/,
    ]);
    cases.push([
      "flipped tensor byte",
      edit((b) => (b[h.dataOffset + t.offset + 8]! ^= 0x10)),
      new RegExp(`\\(data\\): tensor ${t.name.replace(/\./g, "\\.")}: checksum mismatch`),
    ]);
    cases.push(["truncated in the tensor table", good.slice(0, h.headerLength - 10), /\(file\): truncated/]);
    cases.push(["truncated in the data", good.slice(0, h.dataOffset + t.offset + 4), /\(file\): truncated/]);
    for (const [what, bytes, want] of cases) {
      const f = join(dir, `${what.replace(/\W+/g, "-")}.eam`);
      writeFileSync(f, bytes);
      const r = run(["info", f]);
      expect(r.code, what).toBe(2);
      expect(r.out, what).toBe("");
      const errLines = r.err.split("\n").filter(Boolean);
      expect(errLines, `${what}: ${r.err}`).toHaveLength(1);
      expect(errLines[0]).toContain(f);
      expect(errLines[0], `${what}: ${errLines[0]}`).toMatch(want);
      expect(r.err).not.toMatch(/\s+at /);
    }
  });
});

describe("model metadata is data", () => {
  it("hostile labels, paths and __proto__ keys are printed as data; nothing named in the file is opened", () => {
    const hostile = join(dir, "hostile.eam");
    const c = createRandomModel({ depth: 18, width: 0.125, numClasses: 10 }, 3);
    c.labels = [
      "../../etc/passwd",
      "__proto__",
      "constructor",
      "toString",
      "/etc/shadow",
      "a",
      "b",
      "c",
      "d",
      "e",
    ];
    c.mel = JSON.parse(`{"__proto__": {"polluted": 1}, ${JSON.stringify(defaultMelConfig()).slice(1)}`);
    c.metadata = Object.fromEntries([
      ["trainer.split", { test: ["../../../../../etc/passwd", "/etc/passwd", "a/../../x"], val: [] }],
      ["__proto__", { polluted: 1 }],
      ["model.include", "/etc/passwd"],
    ]);
    writeModel(hostile, c);
    // every path the runner touches, logged by a preload that wraps node:fs
    const trace = join(dir, "fs-trace.log");
    const preload = join(dir, "trace.mjs");
    writeFileSync(
      preload,
      `import { createRequire, syncBuiltinESMExports } from "node:module";
       const require = createRequire(import.meta.url);
       const fs = require("node:fs");
       const seen = [];
       const wrap = (obj, name) => { const f = obj[name]; if (typeof f !== "function") return;
         obj[name] = function (p, ...rest) { seen.push(name + " " + String(p)); return f.call(this, p, ...rest); }; };
       for (const n of ["openSync", "readFileSync", "readdirSync", "statSync", "lstatSync", "existsSync", "open", "readFile", "createReadStream"]) wrap(fs, n);
       for (const n of ["open", "readFile", "readdir", "stat"]) wrap(fs.promises, n);
       syncBuiltinESMExports();
       const write = fs.writeFileSync;
       process.on("exit", () => write(${JSON.stringify(trace)}, seen.join("\\n")));`,
    );
    const env = { ...process.env, NODE_OPTIONS: `--import ${preload}` };
    const data = join(dir, "hdata");
    mkdirSync(join(data, "a"), { recursive: true });
    writeFileSync(join(data, "a", "x.wav"), encodeWav([tone(1, 22050)], 22050));

    const info = run(["info", hostile, "--json"], { env });
    expect(info.err).toBe("");
    const doc = JSON.parse(info.out);
    expect(doc.labels).toEqual(c.labels);
    expect(doc.metadata["model.include"]).toBe("/etc/passwd");
    expect(Object.getOwnPropertyDescriptor(doc.metadata, "__proto__")?.value).toEqual({ polluted: 1 });
    expect(Object.getPrototypeOf(doc.metadata)).toBe(Object.prototype);

    const ev = run(["eval", "--model", hostile, "--data", data, "--split", "test"], { env });
    expect(ev.code).toBe(2);
    expect(ev.err).toMatch(/none of the \d+ held-out clips named by/);
    const cl = run(["classify", "--model", hostile, join(data, "a", "x.wav")], { env });
    expect(c.labels).toContain(JSON.parse(cl.out).label);

    const touched = readFileSync(trace, "utf8").split("\n").filter(Boolean);
    expect(touched.length).toBeGreaterThan(3); // the preload saw the runner's reads
    const allowed = [hostile, data, repo, dirname(process.execPath), resolve(process.execPath, "../..")];
    for (const line of touched) {
      const p = line.slice(line.indexOf(" ") + 1);
      expect(p, line).not.toMatch(/passwd|shadow/);
      expect(
        allowed.some((a) => p.startsWith(a) || p.startsWith(`file://${a}`)),
        line,
      ).toBe(true);
    }
  });
});
