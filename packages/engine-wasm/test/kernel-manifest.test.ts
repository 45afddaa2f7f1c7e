/**
 * The kernel manifest (scripts/kernel-manifest.mjs, generated into src/gen/kernels.ts) is the
 * whole calling convention: every export of both built kernel modules is in it with its arity
 * and nothing else is, its layout formulas give what the kernels compute, and every kernel is
 * exercised by a tester of its family.
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KERNEL_FAMILIES, KERNEL_MANIFEST, LAYOUT_FORMULAS, PLAN_KERNELS } from "../dist/gen/kernels.js";
import { WASI_KERNELS } from "../dist/wasi-run.js";
import { createMemory, type Isa, instantiate, kernelModule } from "../dist/wasm.js";
import { ISAS } from "./guarded-arena.js";
import { KERNEL_TESTERS } from "./kernel-testers.js";

const inIsa = (isa: Isa) => KERNEL_MANIFEST.filter((k) => (k.isa as readonly string[]).includes(isa));

/** Instance exports of one build as callable functions. */
function exportsOf(isa: Isa): Record<string, (...a: number[]) => number> {
  const inst = instantiate(kernelModule(isa), createMemory(1 << 20));
  return inst as unknown as Record<string, (...a: number[]) => number>;
}

describe("kernel manifest and the built modules", () => {
  for (const isa of ISAS)
    it(`${isa}: the module exports exactly the manifest's kernels, each with the manifest's arity`, () => {
      const exported = WebAssembly.Module.exports(kernelModule(isa));
      const fns = exported.filter((e) => e.kind === "function").map((e) => e.name);
      expect(exported.filter((e) => e.kind !== "function").map((e) => e.name)).toEqual(["memory"]);
      expect([...fns].sort()).toEqual(
        inIsa(isa)
          .map((k) => k.name)
          .sort(),
      );
      const inst = exportsOf(isa);
      for (const k of inIsa(isa))
        expect(`${k.name}/${inst[k.name]!.length}`).toBe(`${k.name}/${k.args.length}`);
    });

  it("the WASI kernel ids are the manifest's plan kernels with their arities", () => {
    expect(WASI_KERNELS.map(([name]) => name)).toEqual([...PLAN_KERNELS]);
    for (const [name, arity] of WASI_KERNELS)
      expect(arity).toBe(KERNEL_MANIFEST.find((k) => k.name === name)!.args.length);
  });

  it("every tile kernel is reached through a driver of the manifest", () => {
    const names = new Set<string>(KERNEL_MANIFEST.map((k) => k.name));
    for (const k of KERNEL_MANIFEST) if (k.calledBy) expect(names.has(k.calledBy)).toBe(true);
  });
});

describe("layout sizes", () => {
  for (const isa of ISAS)
    it(`${isa}: the manifest's formulas equal the kernels' size exports`, () => {
      const k = exportsOf(isa);
      for (const kc of [1, 2, 3, 7, 8, 64, 511, 512, 513])
        for (const ks of [1, 2, 9, 25]) {
          expect(k.qs8_panel_bytes!(kc, ks)).toBe(LAYOUT_FORMULAS.qs8_panel_bytes(kc, ks));
          expect(k.qs8_k16!(kc, ks)).toBe(LAYOUT_FORMULAS.qs8_k16(kc, ks));
        }
      for (const cin of [1, 2, 15, 16, 17, 32, 64, 255])
        for (const tiles of [1, 4, 15, 16, 17, 100])
          for (const cols of [2, 3])
            expect(k.qs8_wino_scratch_bytes!(cin, tiles, cols)).toBe(
              LAYOUT_FORMULAS.qs8_wino_scratch_bytes(cin, tiles, cols),
            );
      for (const cin of [1, 7, 40, 63, 64, 255, 256, 511, 512, 600])
        for (const n of [1, 8, 9, 64, 300, 2048])
          expect(k.f16_wino_scratch_bytes!(cin, n)).toBe(LAYOUT_FORMULAS.f16_wino_scratch_bytes(cin, n));
    });
});

describe("module queries and peak loops (module, peak)", () => {
  it("simd_enabled tells the build apart; heap_base is a 16-byte aligned address", () => {
    for (const isa of ISAS) {
      const k = exportsOf(isa);
      expect(k.simd_enabled!()).toBe(isa === "wasmsimd" ? 1 : 0);
      const h = k.heap_base!();
      expect(h > 0 && h % 16 === 0).toBe(true);
    }
  });

  /** f32_peak's arithmetic in f32 (each multiply and add rounded), for `acc` accumulators. */
  function f32PeakRef(iters: number, seed: number, acc: number): number {
    const f = Math.fround;
    const b = f(0.999999);
    const a = Array.from({ length: acc }, (_, i) => f(seed + i));
    for (let n = 0; n < iters; n++) for (let i = 0; i < acc; i++) a[i] = f(f(a[i]! * b) + seed);
    if (acc === 4) return f(f(f(a[0]! + a[1]!) + a[2]!) + a[3]!);
    const p = (i: number, j: number) => f(a[i]! + a[j]!);
    const s = f(f(f(p(0, 1) + p(2, 3))) + f(p(4, 5) + p(6, 7)));
    const t = f(s + f(p(8, 9) + p(10, 11)));
    return f(f(f(t + t) + t) + t);
  }

  it("f32_peak and qs8_peak compute their loops exactly", () => {
    for (const isa of ISAS) {
      const k = exportsOf(isa);
      for (const [iters, seed] of [
        [0, 0.5],
        [1, 0.25],
        [37, -1.5],
      ] as const)
        expect(k.f32_peak!(iters, seed)).toBe(f32PeakRef(iters, seed, isa === "wasmsimd" ? 12 : 4));
      for (const [iters, seed] of [
        [0, 3],
        [5, 2],
        [100, -7],
      ] as const) {
        let want = 0; // SIMD: all lanes equal, lane 0 ^ lane 3
        if (isa === "scalar") {
          const a = [seed, seed + 1, seed + 2, seed + 3];
          for (let n = 0; n < iters; n++)
            for (let i = 0; i < 4; i++) a[i] = (a[i]! + Math.imul(a[i]!, seed)) | 0;
          want = a[0]! ^ a[1]! ^ a[2]! ^ a[3]!;
        }
        expect(k.qs8_peak!(iters, seed)).toBe(want);
      }
    }
  });
});

describe("kernel testers", () => {
  const source = (file: string) => fs.readFileSync(fileURLToPath(new URL(file, import.meta.url)), "utf8");
  for (const family of KERNEL_FAMILIES)
    it(`${family}: each kernel is called by a tester of its family`, () => {
      const files = KERNEL_TESTERS[family];
      expect(files.length).toBeGreaterThan(0);
      const text = files.map(source).join("\n");
      for (const k of KERNEL_MANIFEST.filter((e) => e.family === family)) {
        const called = k.calledBy ?? k.name;
        expect(`${k.name}: ${text.includes(`${called}!(`) || text.includes(`${called}(`)}`).toBe(
          `${k.name}: true`,
        );
      }
    });
});
