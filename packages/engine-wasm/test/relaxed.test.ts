/**
 * Relaxed SIMD (relaxed-check family and the relaxed peak): the self-check's reference, its
 * verdict against what the kernel module it hands out computes, exactly, before and after V8
 * could tier the function up, and the module's exports against the manifest.
 */
import { describe, expect, it } from "vitest";
import { KERNEL_MANIFEST } from "../dist/gen/kernels.js";
import {
  exactDot,
  instantiateRelaxed,
  relaxedCheckCases,
  relaxedKernelModule,
  relaxedSimdStatus,
} from "../dist/relaxed.js";
import { createMemory } from "../dist/wasm.js";

describe("relaxed SIMD self-check", () => {
  it("exactDot is the 4-byte dot product per lane plus the accumulator, modulo 2^32", () => {
    const a = new Int8Array(32).map((_, i) => i - 16);
    const b = new Uint8Array(32).map((_, i) => (i * 5) & 127);
    const c = new Int32Array([2147483647, -2147483648, 0, 7]);
    const want = Array.from(c);
    for (let i = 0; i < 32; i++) {
      const lane = (i >> 2) & 3;
      want[lane] = (want[lane]! + (i - 16) * ((i * 5) & 127)) | 0;
    }
    expect(Array.from(exactDot({ name: "t", a, b, c }))).toEqual(want);
    expect(
      exactDot({ name: "t", a: new Int8Array(16).fill(-128), b: new Uint8Array(16).fill(127), c })[2],
    ).toBe(-65024);
  });

  it("the cases keep the second operand 7-bit and cover both extremes and the wrap-around", () => {
    const cases = relaxedCheckCases();
    for (const t of cases) {
      expect(t.a.length % 16).toBe(0);
      expect(t.b.length).toBe(t.a.length);
      expect(t.b.every((v) => v <= 127)).toBe(true);
    }
    expect(cases.some((t) => t.a.includes(-128) && t.b.includes(127))).toBe(true);
    expect(cases.some((t) => t.a.includes(127) && t.b.includes(127))).toBe(true);
    expect(cases.some((t) => t.c.includes(-2147483648) || t.c.includes(2147483647))).toBe(true);
  });

  const status = relaxedSimdStatus();

  it("the verdict follows the per-tier results", () => {
    const exact = (tier: string) => status.tiers.find((t) => t.tier === tier)?.wrongLanes === 0;
    if (status.enabledBy === null) {
      expect(status.usable).toBe(false);
      expect(relaxedKernelModule()).toBeNull();
      return;
    }
    expect(status.tiers.map((t) => t.tier)).toEqual(["liftoff", "turbofan"]);
    expect(status.usable).toBe(exact("turbofan"));
    expect(relaxedKernelModule() !== null).toBe(status.usable);
    if (status.usable) expect(status.runs).toBe(exact("liftoff") ? "tiering" : "turbofan-only");
  });

  it.runIf(status.usable)(
    "the module handed out computes every case exactly, also after 300 000 calls (tier-up)",
    () => {
      const mem = createMemory(1 << 16);
      const k = instantiateRelaxed(relaxedKernelModule()!, mem);
      const run = () => {
        const wrong: string[] = [];
        for (const t of relaxedCheckCases()) {
          new Int8Array(mem.buffer, 4096, t.a.length).set(t.a);
          new Uint8Array(mem.buffer, 8192, t.b.length).set(t.b);
          new Int32Array(mem.buffer, 12288, 4).set(t.c);
          k.relaxed_dot_check(4096, 8192, 12288, 12352, t.a.length / 16);
          const got = Array.from(new Int32Array(mem.buffer, 12352, 4));
          if (got.join() !== Array.from(exactDot(t)).join()) wrong.push(t.name);
        }
        return wrong;
      };
      expect(run()).toEqual([]);
      for (let i = 0; i < 300_000; i++) k.relaxed_dot_check(4096, 8192, 12288, 12352, 1);
      expect(run()).toEqual([]);
    },
  );

  it.runIf(status.usable)("qs8_relaxed_peak computes its loop exactly", () => {
    const k = instantiateRelaxed(relaxedKernelModule()!, createMemory(1 << 16));
    for (const [iters, seed] of [
      [0, 3],
      [5, 2],
      [1000, -7],
      [100_000, 127],
    ] as const) {
      // 10 accumulators, 5 with b = (seed+1) & 127 and 5 with (seed+2) & 127; 4 products per lane.
      const perIter = 5 * 4 * seed * ((seed + 1) & 127) + 5 * 4 * seed * ((seed + 2) & 127);
      const lane = Number((BigInt(iters) * BigInt(perIter)) & 0xffffffffn) | 0;
      expect(k.qs8_relaxed_peak(iters, seed)).toBe(Math.imul(lane, 4));
    }
  });

  it.runIf(status.usable)("the relaxed module exports exactly the manifest's wasmrelaxed kernels", () => {
    const exported = WebAssembly.Module.exports(relaxedKernelModule()!);
    expect(exported.filter((e) => e.kind !== "function").map((e) => e.name)).toEqual(["memory"]);
    const manifest = KERNEL_MANIFEST.filter((k) => (k.isa as readonly string[]).includes("wasmrelaxed"));
    expect(
      exported
        .filter((e) => e.kind === "function")
        .map((e) => e.name)
        .sort(),
    ).toEqual(manifest.map((k) => k.name).sort());
    const inst = instantiateRelaxed(relaxedKernelModule()!, createMemory(1 << 16)) as unknown as Record<
      string,
      (...a: number[]) => number
    >;
    for (const k of manifest) expect(`${k.name}/${inst[k.name]!.length}`).toBe(`${k.name}/${k.args.length}`);
  });
});
