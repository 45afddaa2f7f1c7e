/**
 * Relaxed SIMD (relaxed-check, peak and qs8-rdot families): the self-check's reference, its
 * verdict against what the kernel module it hands out computes, exactly, before and after V8
 * could tier the function up, the module's exports against the manifest, and the relaxed GEMM
 * over the shape table against the exact integer result, and its outputs (f32, int8, ReLU,
 * fused residual) against the 16-bit GEMM's, bit for bit.
 */
import { describe, expect, it } from "vitest";
import { splitRange } from "../dist/executor.js";
import { KERNEL_MANIFEST } from "../dist/gen/kernels.js";
import { QP_OUT_MODE } from "../dist/gen/layout.js";
import { writeParamBlock } from "../dist/param-block.js";
import { mulberry32 } from "../dist/random.js";
import {
  exactDot,
  fmaStatus,
  instantiateRelaxed,
  relaxedCheckCases,
  relaxedKernelModule,
  relaxedSimdStatus,
} from "../dist/relaxed.js";
import { createMemory } from "../dist/wasm.js";
import { GuardedArena } from "./guarded-arena.js";
import { kernelShapes } from "./kernel-shapes.js";
import { exactGemm, IN_PLACE_SHAPES, im2colU7, randomRdotCase } from "./rdot-cases.js";

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
    expect(relaxedKernelModule() !== null).toBe(status.usable || fmaStatus().usable);
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

const SPLITS = [1, 2, 3];

describe.runIf(relaxedSimdStatus().usable)(
  "qs8-rdot-4x8c4 (int8 weights x 7-bit activations, relaxed_dot_i8x16_i7x16_add_s)",
  () => {
    it("raw int32 output equals the exact integer GEMM, and its 7-bit im2col the reference rows, over the shape table, every split", () => {
      const rand = mulberry32(21);
      const ar = new GuardedArena(rand);
      const rk = instantiateRelaxed(relaxedKernelModule()!, ar.memory);
      const dv = new DataView(ar.memory.buffer);
      const i32 = new Int32Array(ar.memory.buffer);
      for (const [trial, g] of [...kernelShapes(21, 30), ...IN_PLACE_SHAPES].entries()) {
        const t = randomRdotCase(rand, g, trial % 7 === 6);
        const taps = g.kh * g.kw;
        const k = taps * g.cin;
        const k4 = rk.qs8_rdot_row_bytes(g.kh, g.kw, g.cin);
        expect(k4).toBe(Math.ceil(k / 4) * 4);
        const M = g.oh * g.ow;
        const rows = im2colU7(t, k4);
        const want = exactGemm(rows, k4, t.w, k, g.cout);
        const what = `${g.name} ${JSON.stringify({ ...g, name: undefined })}`;
        const direct = taps === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.cin % 4 === 0;
        for (const T of SPLITS) {
          ar.reset();
          const x = ar.bytes(t.x);
          let a = x;
          if (!direct) {
            a = ar.alloc(M * k4);
            ar.u8.fill(0xff, a, a + M * k4);
            for (let p = 0; p < T; p++) {
              const [m0, m1] = splitRange(M, T, p);
              if (m0 < m1)
                rk.qs8_rdot_im2col(m0, m1, g.h, g.w, g.cin, g.ow, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, x, a);
            }
            const got = ar.u8.slice(a, a + M * k4);
            expect(`${what} T=${T} im2col: ${got.join() === rows.join()}`).toBe(
              `${what} T=${T} im2col: true`,
            );
          }
          const src = ar.bytes(t.w);
          const ones = ar.floats(new Float32Array(g.cout).fill(1));
          const zeros = ar.floats(new Float32Array(g.cout));
          const wp = ar.alloc(Math.ceil(g.cout / 8) * rk.qs8_rdot_panel_bytes(k));
          rk.qs8_rdot_pack_weights(k, g.cout, src, ones, zeros, wp);
          const qp = ar.alloc(64);
          writeParamBlock(dv, qp, 1, 0);
          dv.setInt32(qp + QP_OUT_MODE, 2, true);
          const c = ar.alloc(M * g.cout * 4);
          i32.fill(0x5a5a5a5a, c >>> 2, (c >>> 2) + M * g.cout);
          for (let p = 0; p < T; p++) {
            const [m0, m1] = trial % 2 ? splitRange(M, T, p) : [0, M];
            const [n0, n1] = trial % 2 ? [0, g.cout] : splitRange(g.cout, T, p, 8);
            if (m0 < m1 && n0 < n1)
              rk.qs8_rdot_gemm_run(m0, m1, n0, n1, k, a, direct ? g.cin : k4, wp, c, g.cout * 4, 0, qp, 0, 0);
          }
          const got = i32.slice(c >>> 2, (c >>> 2) + M * g.cout);
          expect(`${what} T=${T}: ${got.join() === want.join()}`).toBe(`${what} T=${T}: true`);
          ar.checkGuards();
        }
      }
    });

    it("f32 and int8 outputs, ReLU and fused residuals are qs8_gemm16_run's, bit for bit, every split", () => {
      const rand = mulberry32(22);
      const ar = new GuardedArena(rand);
      const rk = instantiateRelaxed(relaxedKernelModule()!, ar.memory);
      const simd = ar.k.wasmsimd;
      const dv = new DataView(ar.memory.buffer);
      for (const [trial, g] of [...kernelShapes(22, 30), ...IN_PLACE_SHAPES].entries()) {
        const t = randomRdotCase(rand, g, trial % 7 === 6);
        const taps = g.kh * g.kw;
        const k = taps * g.cin;
        const k4 = rk.qs8_rdot_row_bytes(g.kh, g.kw, g.cin);
        const M = g.oh * g.ow;
        const int8Out = trial % 3 !== 2;
        const residual = int8Out && trial % 2 === 1;
        const relu = trial % 4 < 2 ? 1 : 0;
        const sx = 0.01 + rand() * 0.05;
        const scales = Float32Array.from({ length: g.cout }, () => 0.002 + rand() * 0.01);
        const bias = Float32Array.from({ length: g.cout }, () => (rand() - 0.5) * 2);
        const out = int8Out
          ? { scale: 0.05 + rand() * 0.2, zeroPoint: Math.floor(rand() * 40) - 20 }
          : undefined;
        const res = Int8Array.from({ length: M * g.cout }, () => Math.floor(rand() * 256) - 128);
        const bytesOut = int8Out ? 1 : 4;
        const what = `${g.name} ${JSON.stringify({ ...g, name: undefined })} int8Out=${int8Out} residual=${residual} relu=${relu}`;
        for (const T of SPLITS) {
          ar.reset();
          const x = ar.bytes(t.x);
          const src = ar.bytes(t.w);
          const sc = ar.floats(scales);
          const bi = ar.floats(bias);
          const qp = ar.alloc(64);
          writeParamBlock(dv, qp, sx, 0, out);
          const rq = residual ? ar.alloc(64) : 0;
          if (residual) writeParamBlock(dv, rq, 0.07, 3);
          const r = residual ? ar.bytes(res) : 0;
          // relaxed: 7-bit im2col rows, or the input in place
          const direct =
            taps === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.cin % 4 === 0;
          const a = direct ? x : ar.alloc(M * k4);
          if (!direct)
            rk.qs8_rdot_im2col(0, M, g.h, g.w, g.cin, g.ow, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, x, a);
          const wr = ar.alloc(Math.ceil(g.cout / 8) * rk.qs8_rdot_panel_bytes(k));
          rk.qs8_rdot_pack_weights(k, g.cout, src, sc, bi, wr);
          const cr = ar.alloc(M * g.cout * bytesOut);
          // 16-bit path on the same bytes (zero point 0)
          const w16 = ar.alloc(Math.ceil(g.cout / 8) * simd.qs8_panel_bytes(g.cin, taps));
          simd.qs8_pack_weights(g.cin, taps, g.cout, src, sc, bi, w16, 0);
          const k16 = simd.qs8_k16(g.cin, taps);
          const a16 = ar.alloc(Math.ceil(M / 4) * 4 * k16 * 2);
          simd.qs8_im2col16(0, M, g.h, g.w, g.cin, g.ow, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, x, a16, qp, 0);
          const c16 = ar.alloc(M * g.cout * bytesOut);
          const cs = g.cout * bytesOut;
          for (let p = 0; p < T; p++) {
            const [m0, m1] = trial % 2 ? splitRange(M, T, p, 4) : [0, M];
            const [n0, n1] = trial % 2 ? [0, g.cout] : splitRange(g.cout, T, p, 8);
            if (m0 >= m1 || n0 >= n1) continue;
            rk.qs8_rdot_gemm_run(
              m0,
              m1,
              n0,
              n1,
              k,
              a,
              direct ? g.cin : k4,
              wr,
              cr,
              cs,
              relu,
              qp,
              rq,
              (r - cr) >>> 0,
            );
            simd.qs8_gemm16_run(
              m0,
              m1,
              n0,
              n1,
              g.cin,
              taps,
              a16,
              w16,
              c16,
              cs,
              relu,
              qp,
              rq,
              (r - c16) >>> 0,
            );
          }
          const got = ar.u8.slice(cr, cr + M * cs);
          const ref = ar.u8.slice(c16, c16 + M * cs);
          expect(`${what} T=${T}: ${got.join() === ref.join()}`).toBe(`${what} T=${T}: true`);
          ar.checkGuards();
        }
      }
    });

    it("qs8_rdot_panel_bytes is 64 bytes of scales and biases and 32 bytes per 4 rows", () => {
      const rk = instantiateRelaxed(relaxedKernelModule()!, createMemory(1 << 16));
      for (const k of [1, 3, 4, 5, 64, 1023, 1024])
        expect(rk.qs8_rdot_panel_bytes(k)).toBe(64 + Math.ceil(k / 4) * 32);
    });
  },
);
