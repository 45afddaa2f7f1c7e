/**
 * Hostile plan files under node:wasi: the call records of real plans (f32, f16, int8 and mixed
 * precisions, so every plan kernel) with one argument, kernel id or memory-table entry changed, checksum
 * recomputed. The WASI module must never trap: it runs the plan (exit 0) or refuses it with one
 * line naming the call and the argument (exit 2). A buffer moved to the end of memory, a count
 * out of range and an address-table entry outside memory must be refused.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc32 } from "../dist/crc32.js";
import { encodeModel, type ModelContents } from "../dist/format.js";
import { KERNEL_MANIFEST, type KernelEntry } from "../dist/gen/kernels.js";
import { type LoadOptions, loadModelFromBytes } from "../dist/model.js";
import { createRandomModel, randomCrop } from "../dist/random.js";
import { planFileBytes, WASI_KERNELS, wasiLoadOptions } from "../dist/wasi-run.js";
import { activationParams, int8Layers, quantizedVariant } from "./model-helpers.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-wasi-hostile-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const config = { depth: 18 as const, width: 0.125, inputHeight: 24, inputWidth: 20, numClasses: 4 };
const fp32 = createRandomModel(config, 9);
const n = config.inputHeight * config.inputWidth;
const crop = randomCrop(n, 3);
const wlayers = fp32.graph.layers.filter((l) => l.op === "conv" || l.op === "dense").map((l) => l.name);
const variants = () => {
  const acts = activationParams(fp32, [crop]);
  return [
    fp32,
    quantizedVariant(fp32, Object.fromEntries(wlayers.map((l) => [l, "f16"])), acts),
    quantizedVariant(fp32, int8Layers(fp32), acts),
    quantizedVariant(
      fp32,
      Object.fromEntries(
        fp32.graph.layers.map((l, i) => [l.name, ["int8", "f16", "dynamic", "f32", "int8"][i % 5]!]),
      ),
      acts,
    ),
  ];
};

interface Plan {
  bytes: Uint8Array;
  base: number;
  mem: number;
  /** Word index (after the header) of each call record. */
  calls: number[];
}

function parsePlan(bytes: Uint8Array): Plan {
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  const words = dv.getUint32(52, true);
  const calls: number[] = [];
  for (let i = 0; i < words; i += 1 + WASI_KERNELS[dv.getUint32(64 + 4 * i, true)]![1]) calls.push(i);
  return { bytes, base: dv.getUint32(20, true), mem: dv.getUint32(24, true), calls };
}

const idOf = (p: Plan, call: number) => new DataView(p.bytes.buffer).getUint32(64 + 4 * p.calls[call]!, true);

/** A copy of the plan with u32 word `word` (byte offset) set to `value`, checksum recomputed. */
function mutated(p: Plan, byteOffset: number, value: number): Uint8Array {
  const b = p.bytes.slice();
  const dv = new DataView(b.buffer);
  dv.setUint32(byteOffset, value >>> 0, true);
  dv.setUint32(12, crc32(b.subarray(16)), true);
  return b;
}

const cropPath = path.join(dir, "crop.f32");
const RUNNER = fileURLToPath(new URL("../dist/wasi-run.js", import.meta.url));
let runs = 0;

interface Outcome {
  what: string;
  code: number;
  stderr: string;
}

/** Runs the module on `bytes` in a child process (killed after 30 s: a hang fails as exit -1). */
function run(bytes: Uint8Array, what: string): Promise<Outcome> {
  const planPath = path.join(dir, `hostile-${runs++}.plan`);
  fs.writeFileSync(planPath, bytes);
  return new Promise((resolve) => {
    const args = ["--no-warnings", RUNNER, planPath, cropPath];
    execFile(process.execPath, args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      fs.rmSync(planPath, { force: true });
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      resolve({ what, code, stderr });
    });
  });
}

/** Runs every (bytes, what) two at a time; outcomes in order. */
async function runAll(cases: [Uint8Array, string][]): Promise<Outcome[]> {
  const out: Outcome[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      out[i] = await run(...cases[i]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

/** Exit 0, or exit 2 with one line that names a call (or a non-finite output). */
function expectRunOrRefusal(r: Outcome): void {
  if (r.code === 0) return;
  expect(`${r.what}: exit ${r.code} ${r.stderr}`).toMatch(
    /: exit 2 engine-wasi: [^\n]*hostile-\d+\.plan: (call \d+ \(\w+\): |the output is not finite)[^\n]+\n$/,
  );
}

/** First (plan, call index) of each kernel id. */
const firstCall = new Map<number, { plan: Plan; call: number }>();
let plans: Plan[] = [];

beforeAll(async () => {
  fs.writeFileSync(cropPath, new Uint8Array(crop.buffer, crop.byteOffset, crop.byteLength));
  // This model's maps are below F(4x4,3x3)'s tile count: its fp32 plan is made once more with
  // F(4x4,3x3) forced, so the plans call the F(4x4) kernels too.
  const loads: [ModelContents, LoadOptions][] = [
    ...variants().map((c): [ModelContents, LoadOptions] => [c, wasiLoadOptions(true)]),
    [fp32, { ...wasiLoadOptions(true), f32WinogradTile: "4x4" }],
  ];
  for (const [contents, options] of loads) {
    const m = await loadModelFromBytes(encodeModel(contents), options);
    plans.push(parsePlan(planFileBytes(m)));
    await m.dispose();
  }
  for (const p of plans)
    p.calls.forEach((_, c) => {
      if (!firstCall.has(idOf(p, c))) firstCall.set(idOf(p, c), { plan: p, call: c });
    });
});
afterAll(() => {
  plans = [];
});

/** Byte offset of argument k of call `call` in the plan file. */
const argAt = (p: Plan, call: number, k: number) => 64 + 4 * (p.calls[call]! + 1 + k);

/** The changed values tried on each argument: addresses and counts (kept to ~3 runs each). */
function probes(p: Plan, entry: KernelEntry, k: number, v: number): number[] {
  return entry.addresses.includes(entry.args[k]!)
    ? [0, p.mem - 1, 2 * v + 1]
    : [2 * v + 1, 2 ** 31, 2 ** 30 + 1];
}

describe("WASI module on hostile plans", () => {
  it("the plans run unchanged and call every plan kernel", async () => {
    for (const r of await runAll(plans.map((p) => [p.bytes, "unchanged"]))) expect(r.code).toBe(0);
    expect([...firstCall.keys()].sort((a, b) => a - b)).toEqual(WASI_KERNELS.map((_, i) => i));
  });

  for (const [id, [name, arity]] of WASI_KERNELS.entries()) {
    const entry = KERNEL_MANIFEST.find((k) => k.name === name)! as KernelEntry;
    it(`${name}: every argument changed runs or is refused, never traps; buffers at the end of memory and negative counts are refused`, async () => {
      const { plan, call } = firstCall.get(id)!;
      const dv = new DataView(plan.bytes.buffer);
      const cases: [Uint8Array, string][] = [];
      for (let k = 0; k < arity; k++)
        for (const value of probes(plan, entry, k, dv.getUint32(argAt(plan, call, k), true)))
          cases.push([mutated(plan, argAt(plan, call, k), value), `${entry.args[k]}=${value >>> 0}`]);
      const outcomes = await runAll(cases);
      for (const r of outcomes) expectRunOrRefusal({ ...r, what: `${name} call ${call} ${r.what}` });
      const outcome = (arg: string, value: number) =>
        outcomes.find((r) => r.what === `${arg}=${value >>> 0}`)!;
      for (const b of entry.buffers)
        expect(outcome(b, plan.mem - 1).stderr).toMatch(
          new RegExp(`call ${call} \\(${name}\\): argument ${b} reaches bytes \\[`),
        );
      for (const c of entry.args.filter((a) => !entry.addresses.includes(a)))
        expect(outcome(c, 2 ** 31).stderr).toMatch(
          new RegExp(`call ${call} \\(${name}\\): argument ${c} = -2147483648 is not a count`),
        );
    });
  }

  it("another kernel id on a call (other arity, misaligned records) is refused or runs, never traps", async () => {
    const p = plans[0]!;
    const ids = WASI_KERNELS.map((_, id) => id).concat([WASI_KERNELS.length]);
    const outcomes = await runAll(ids.map((id) => [mutated(p, 64, id), `call 0 renamed to kernel ${id}`]));
    for (const r of outcomes) {
      expect(`${r.what}: exit ${r.code}`).toMatch(/: exit [02]$/);
      if (r.code !== 0) expect(r.stderr).toMatch(/^engine-wasi: [^\n]+\n$/);
    }
    expect(outcomes.at(-1)!.stderr).toMatch(/call 0 names unknown kernel/);
  });

  it("an indirection entry outside memory is refused", async () => {
    const igemm = WASI_KERNELS.findIndex(([name]) => name === "f32_igemm_run");
    const { plan, call } = firstCall.get(igemm)!;
    const dv = new DataView(plan.bytes.buffer);
    const words = dv.getUint32(52, true);
    const ind = dv.getUint32(argAt(plan, call, 7), true);
    const r = await run(mutated(plan, 64 + 4 * words + (ind - plan.base), 16), "ind entry");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`call ${call} \\(f32_igemm_run\\): table ind entry 0 \\(address 16\\) reaches outside`),
    );
  });

  it("a memory size cut below what the calls reach is refused by the first call reaching past it", async () => {
    const p = plans[2]!;
    const dv = new DataView(p.bytes.buffer);
    const u = (o: number) => dv.getUint32(o, true);
    // The smallest size the header allows: the image, the input and the output still inside.
    const cut = Math.max(p.base + u(28), u(32) + 4 * u(36), u(40) + 4 * u(44));
    expect(cut).toBeLessThan(p.mem);
    const r = await run(mutated(p, 24, cut), "memory cut");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /call \d+ \(\w+\): argument \w+ reaches bytes \[\d+, \d+\), outside the plan's memory/,
    );
  });
});
