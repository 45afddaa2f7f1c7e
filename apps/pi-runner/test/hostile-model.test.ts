/**
 * Well-formed but hostile model files through the runner: `info` verifies exactly what the
 * engine's readModel verifies (same refusal), the engine's memory and work limits can be raised or
 * lowered with --max-memory / --max-work, non-finite outputs and label mismatches end the run with
 * an error instead of `"p":null` or made-up class names, and deeply nested metadata gives one line.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultMelConfig, encodeWav } from "@edge-audio/dsp";
import {
  crc32,
  createRandomModel,
  encodeModel,
  MetaType,
  type ModelContents,
  readModel,
  readModelHeader,
  type TensorInput,
} from "@edge-audio/engine-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, "../dist/cli.js");
let dir: string;
let wav: string;
const LABELS = ["a", "b", "c", "d"];

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", timeout: 60_000 });
  if (r.error) throw new Error(`pi-runner ${args.join(" ")}: ${r.error.message}`);
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function model(edit: (c: ModelContents) => void = () => {}, width = 0.0625): ModelContents {
  const c = createRandomModel({ depth: 18, width, inputHeight: 32, inputWidth: 40, numClasses: 4 }, 8);
  c.labels = [...LABELS];
  c.mel = defaultMelConfig({ nMels: 32 }) as unknown as ModelContents["mel"];
  edit(c);
  return c;
}

function file(name: string, bytes: Uint8Array): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  return f;
}

function oneLine(err: string): string {
  const lines = err.split("\n").filter(Boolean);
  expect(lines, err).toHaveLength(1);
  expect(err).not.toMatch(/\s+at /);
  return lines[0]!;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pi-runner-hostile-"));
  const x = Float32Array.from({ length: 22050 * 2 }, (_, i) => 0.3 * Math.sin(i / 7));
  wav = file("tone.wav", encodeWav([x], 22050));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pi-runner info verifies exactly what readModel verifies", () => {
  it("a damaged tensor no layer uses is refused by info with readModel's own message", () => {
    const extra: TensorInput = {
      name: "unused.extra",
      dtype: "f32",
      shape: [32],
      data: new Float32Array(32),
    };
    const bytes = encodeModel(model((x) => x.tensors.push(extra)));
    const { dataOffset, tensors } = readModelHeader(bytes);
    bytes[dataOffset + tensors.at(-1)!.offset + 5]! ^= 0x01; // the last tensor: unused.extra
    const expected = (() => {
      try {
        return readModel(bytes) && "";
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(expected).toMatch(/tensor unused\.extra: checksum mismatch/);
    const f = file("unused-damaged.eam", bytes);
    for (const args of [
      ["info", f],
      ["info", "--json", f],
      ["classify", "--model", f, wav],
    ]) {
      const r = run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(oneLine(r.err)).toBe(`pi-runner: ${f}: ${expected}`);
    }
  });
});

describe("--max-memory and --max-work", () => {
  it("lower or raise the engine's limits on classify, eval and info; the refusal states both numbers", () => {
    const f = file("small.eam", encodeModel(model(undefined, 0.25))); // a few MiB of memory
    const data = join(dir, "data");
    for (const l of LABELS) {
      mkdirSync(join(data, l), { recursive: true });
      writeFileSync(
        join(data, l, "x.wav"),
        encodeWav([Float32Array.from({ length: 22050 }, () => 0.1)], 22050),
      );
    }
    const cmds = [
      ["info", f],
      ["classify", "--model", f, wav],
      ["eval", "--model", f, "--data", data, "--json"],
    ];
    for (const cmd of cmds) {
      expect(run(cmd).code, cmd.join(" ")).toBe(0);
      const mem = run([...cmd, "--max-memory", "1"]);
      expect(mem.code, cmd.join(" ")).toBe(2);
      expect(oneLine(mem.err)).toMatch(
        /needs [\d.]+ MiB of memory .*more than the limit of 1 MiB.*--max-memory MIB/,
      );
      const work = run([...cmd, "--max-work", "0.001"]);
      expect(work.code).toBe(2);
      expect(oneLine(work.err)).toMatch(
        /needs [\d.]+ G operations per crop.*limit of 0\.00 G.*--max-work GOPS/,
      );
      expect(run([...cmd, "--max-memory", "4096", "--max-work", "1000"]).code).toBe(0);
    }
    for (const bad of [
      ["--max-memory", "0"],
      ["--max-memory", "x"],
      ["--max-work", "-1"],
    ]) {
      const r = run(["info", f, ...bad]);
      expect(r.code, bad.join(" ")).toBe(2);
      expect(r.err).toMatch(new RegExp(bad[0]!));
    }
  });
});

describe("meaningless outputs end the run", () => {
  it('a NaN in the classifier head fails classify naming the model (no "p":null, no exit 0)', () => {
    const f = file(
      "nan-head.eam",
      encodeModel(
        model((c) => {
          (c.tensors.find((t) => t.name === "head.dense.weight")!.data as Float32Array)[2] = Number.NaN;
        }),
      ),
    );
    const r = run(["classify", "--model", f, wav]);
    expect(r.code).toBe(1);
    expect(r.out).not.toMatch(/"p":null/);
    expect(r.out).toMatch(new RegExp(`${f.replace(/[.]/g, "\\.")}: the output is not finite`));
  });

  it("a label count that differs from the output is refused (no class0..classN)", () => {
    const f = file("labels3.eam", encodeModel(model((c) => (c.labels = ["a", "b", "c"]))));
    const r = run(["classify", "--model", f, wav]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(oneLine(r.err)).toMatch(/3 labels .* 4 classes/);
  });
});

describe("deeply nested metadata", () => {
  it("info --json gives one line naming the key, not a stack overflow", () => {
    const depth = 200_000;
    const placeholder = "x".repeat(2 * depth - 2);
    const b = encodeModel(
      model((c) => (c.metadata = { "custom.deep": { type: MetaType.JSON, value: placeholder } })),
    );
    const at = Buffer.from(b.buffer, b.byteOffset, b.length).indexOf(JSON.stringify(placeholder));
    b.set(Buffer.from(`${"[".repeat(depth)}${"]".repeat(depth)}`), at);
    const dv = new DataView(b.buffer, b.byteOffset);
    const hl = Number(dv.getBigUint64(24, true));
    dv.setUint32(60, crc32(b.subarray(64, hl), crc32(b.subarray(0, 60))), true);
    const f = file("deep.eam", b);
    for (const args of [
      ["info", "--json", f],
      ["info", f],
    ]) {
      const r = run(args);
      expect(r.code).toBe(2);
      const line = oneLine(r.err);
      expect(line).not.toMatch(/call stack/);
      expect(line).toMatch(/"custom\.deep".*nested deeper than/);
    }
  });
});
