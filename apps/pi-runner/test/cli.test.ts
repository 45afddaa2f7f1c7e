import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeWav } from "@edge-audio/dsp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS, writeTestModel } from "./test-model.js";

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, "../dist/cli.js");
const shared = resolve(here, "../../../../shared/data");

let dir: string;
let model: string;

function run(args: string[], input?: Uint8Array) {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tone(seconds: number, rate: number, freq: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing; build first (npm run build)`);
  dir = mkdtempSync(join(tmpdir(), "pi-runner-"));
  model = join(dir, "r18.eam");
  writeTestModel(model, 3);
  for (const [g, f] of [
    ["blues", 220],
    ["rock", 440],
  ] as const) {
    mkdirSync(join(dir, "data", g), { recursive: true });
    for (let i = 0; i < 2; i++)
      writeFileSync(
        join(dir, "data", g, `${g}.0000${i}.wav`),
        encodeWav([tone(4, 22050, f * (i + 1))], 22050),
      );
  }
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("pi-runner", () => {
  it("prints help for every command", () => {
    for (const c of [[], ["classify"], ["eval"], ["info"]]) {
      const r = run([...c, "--help"]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/usage: pi-runner/);
    }
  });

  it("classifies files into one JSON line each, reporting unreadable ones", () => {
    const good = join(dir, "data", "rock", "rock.00000.wav");
    const bad = join(dir, "broken.wav");
    writeFileSync(bad, readFileSync(good).subarray(0, 30));
    const r = run(["classify", "--model", model, "--threads", "1", "--top", "2", good, bad]);
    expect(r.code).toBe(2);
    const lines = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0].file).toBe(good);
    expect(LABELS).toContain(lines[0].label);
    expect(lines[0].top).toHaveLength(2);
    expect(lines[0].top[0].p).toBeGreaterThanOrEqual(lines[0].top[1].p);
    expect(lines[0].crops).toBe(2); // 4 s = 173 frames: two 130-frame crops cover it
    expect(lines[1].error).toContain(bad);
  });

  it("gives the same label for a file and for the same audio streamed on stdin", () => {
    const file = join(dir, "data", "blues", "blues.00000.wav");
    const whole = JSON.parse(run(["classify", "--model", model, file]).out);
    const streamed = run(["classify", "--model", model, "-"], readFileSync(file));
    expect(streamed.code).toBe(0);
    const lines = streamed.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0].segment).toBe(0);
    expect(lines.at(-1)).toMatchObject({ file: "-", mode: "stdin", samples: 4 * 22050 });
    expect(lines[0].label).toBe(whole.label);
    expect(lines.at(-1).label).toBe(whole.label);
  });

  it("ends cleanly when a stream stops mid-sample, and refuses a wrong sample rate", () => {
    const file = join(dir, "data", "blues", "blues.00000.wav");
    const cut = readFileSync(file).subarray(0, 44 + 2 * 70000 + 1);
    const r = run(["classify", "--model", model, "-"], cut);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/stopped mid-sample/);
    const wrong = run(["classify", "--model", model, "-"], encodeWav([tone(1, 16000, 300)], 16000));
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/16000 Hz but the model expects 22050 Hz/);
  });

  it("evaluates a folder, and exactly the held-out clips with --split test", () => {
    const all = JSON.parse(
      run(["eval", "--model", model, "--data", join(dir, "data"), "--split", "all", "--json"]).out,
    );
    expect(all.clips).toBe(4);
    expect(all.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(4);
    expect(all.peakRssMB).toBeGreaterThan(10);
    expect(all.modelBytes).toBe(readFileSync(model).length);
    const test = JSON.parse(
      run(["eval", "--model", model, "--data", join(dir, "data"), "--split", "test", "--json"]).out,
    );
    expect(test.clips).toBe(2);
  });

  it("collects garbage after loading the model and after every clip", () => {
    // forced collections show as "testing" in V8's GC trace
    const forced = (args: string[]) => {
      const r = spawnSync(process.execPath, ["--trace-gc", cli, ...args], {
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.split("\n").filter((l) => /Mark-Compact.*testing/.test(l)).length;
    };
    expect(
      forced(["eval", "--model", model, "--data", join(dir, "data"), "--split", "all", "--json"]),
    ).toBeGreaterThanOrEqual(1 + 4);
    const files = ["blues.00000.wav", "blues.00001.wav"].map((f) => join(dir, "data", "blues", f));
    expect(forced(["classify", "--model", model, ...files])).toBeGreaterThanOrEqual(1 + 2);
  });

  it("refuses bad models and bad folders with a message naming the file", () => {
    const trunc = join(dir, "trunc.eam");
    writeFileSync(trunc, readFileSync(model).subarray(0, 500));
    let r = run(["info", trunc]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(trunc);
    expect(r.err).not.toMatch(/\n\s+at /);
    r = run(["eval", "--model", model, "--data", join(dir, "nowhere")]);
    expect(r.err).toMatch(/no such folder/);
    mkdirSync(join(dir, "data2", "polka"), { recursive: true });
    writeFileSync(join(dir, "data2", "polka", "p.wav"), encodeWav([tone(1, 22050, 300)], 22050));
    r = run(["eval", "--model", model, "--data", join(dir, "data2"), "--split", "all"]);
    expect(r.err).toMatch(/polka are not classes/);
    expect(r.code).toBe(2);
    r = run(["classify", "--model", model]);
    expect(r.code).toBe(2);
  });

  it.skipIf(!existsSync(shared))("classifies real GTZAN .au and .wav clips", () => {
    const r = run([
      "classify",
      "--model",
      model,
      join(shared, "gtzan-au", "metal.00000.au"),
      join(shared, "gtzan-mini", "jazz", "jazz.00003.wav"),
    ]);
    expect(r.code).toBe(0);
    const [au, wav] = r.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    // 1323008 data bytes of 16-bit mono after a 57-byte header: 661504 samples, 1293 frames
    expect(au.seconds).toBeCloseTo(661504 / 22050, 3);
    expect(au.crops).toBe(Math.ceil((1 + Math.floor(661504 / 512)) / 130));
    expect(wav.crops).toBeGreaterThanOrEqual(4);
  });
});
