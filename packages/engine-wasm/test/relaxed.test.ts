/**
 * Relaxed SIMD (relaxed-check, peak and qs8-rdot families): the self-check's reference, its
 * verdict against what the kernel module it hands out computes, exactly, before and after V8
 * could tier the function up, the module's exports against the manifest, and the relaxed GEMM
 * over the shape table against the exact integer result and the 16-bit GEMM's accumulators.
 */
import { describe, expect, it } from "vitest";
import { splitRange } from "../dist/executor.js";
import { KERNEL_MANIFEST } from "../dist/gen/kernels.js";
import { QP_OUT_MODE } from "../dist/gen/layout.js";
import { writeParamBlock } from "../dist/param-block.js";
import { mulberry32 } from "../dist/random.js";
import {
  exactDot,
  instantiateRelaxed,
  relaxedCheckCases,
  relaxedKernelModule,
  relaxedSimdStatus,
} from "../dist/relaxed.js";
import { createMemory } from "../dist/wasm.js";
import { GuardedArena } from "./guarded-arena.js";
import { kernelShapes, type ShapeGeometry } from "./kernel-shapes.js";

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

/** A convolution of the shape table as a GEMM on 7-bit activations: x u7 NHWC, w int8 [taps][cin][cout]. */
interface RdotCase {
  g: ShapeGeometry;
  x: Uint8Array;
  w: Int8Array;
}

function randomRdotCase(rand: () => number, g: ShapeGeometry, extreme: boolean): RdotCase {
  const taps = g.kh * g.kw;
  const x = new Uint8Array(g.h * g.w * g.cin).map(() => (extreme ? 127 : Math.floor(rand() * 128)));
  const w = new Int8Array(taps * g.cin * g.cout).map((_, i) =>
    extreme ? (i % 3 ? -128 : 127) : Math.floor(rand() * 255) - 127,
  );
  return { g, x, w };
}

/** im2col rows of the case's 7-bit activations: taps x cin values (0 outside the image), padded to k4 bytes. */
function im2colU7(t: RdotCase, k4: number): Uint8Array {
  const { g } = t;
  const rows = new Uint8Array(g.oh * g.ow * k4);
  for (let oy = 0; oy < g.oh; oy++)
    for (let ox = 0; ox < g.ow; ox++) {
      const row = (oy * g.ow + ox) * k4;
      let q = 0;
      for (let ky = 0; ky < g.kh; ky++)
        for (let kx = 0; kx < g.kw; kx++) {
          const iy = oy * g.sh - g.pt + ky;
          const ix = ox * g.sw - g.pl + kx;
          const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
          for (let ch = 0; ch < g.cin; ch++, q++)
            rows[row + q] = inside ? t.x[(iy * g.w + ix) * g.cin + ch]! : 0;
        }
    }
  return rows;
}

/** Exact int32 result [M][cout] of the GEMM of im2col rows (k4 bytes each) and weights [k][cout]. */
function exactGemm(rows: Uint8Array, k4: number, w: Int8Array, k: number, cout: number): Int32Array {
  const m = rows.length / k4;
  const out = new Int32Array(m * cout);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < cout; j++) {
      let acc = 0;
      for (let q = 0; q < k; q++) acc += rows[i * k4 + q]! * w[q * cout + j]!;
      out[i * cout + j] = acc;
    }
  return out;
}

const SPLITS = [1, 2, 3];

describe.runIf(relaxedSimdStatus().usable)(
  "qs8-rdot-4x8c4 (int8 weights x 7-bit activations, relaxed_dot_i8x16_i7x16_add_s)",
  () => {
    const extraShapes: ShapeGeometry[] = [16, 64, 100].map((cin, i) => {
      const h = 5 + i;
      const w = 7 - i;
      return {
        name: `1x1 stride 1, cin ${cin}`,
        h,
        w,
        cin,
        cout: 8 * i + 13,
        kh: 1,
        kw: 1,
        sh: 1,
        sw: 1,
        padding: "valid",
        pt: 0,
        pl: 0,
        oh: h,
        ow: w,
      };
    });

    it("matches the exact integer GEMM and the 16-bit GEMM's int32 accumulators over the shape table, every split", () => {
      const rand = mulberry32(21);
      const ar = new GuardedArena(rand);
      const rk = instantiateRelaxed(relaxedKernelModule()!, ar.memory);
      const simd = ar.k.wasmsimd;
      const dv = new DataView(ar.memory.buffer);
      const i32 = new Int32Array(ar.memory.buffer);
      for (const [trial, g] of [...kernelShapes(21, 30), ...extraShapes].entries()) {
        const t = randomRdotCase(rand, g, trial % 7 === 6);
        const taps = g.kh * g.kw;
        const k = taps * g.cin;
        const k4 = Math.ceil(k / 4) * 4;
        const M = g.oh * g.ow;
        const rows = im2colU7(t, k4);
        const want = exactGemm(rows, k4, t.w, k, g.cout);
        const what = `${g.name} ${JSON.stringify({ ...g, name: undefined })}`;
        for (const T of SPLITS) {
          ar.reset();
          // 1x1 stride-1 layers whose channels are a multiple of 4 read the NHWC tensor directly.
          const direct = taps === 1 && g.sh === 1 && g.sw === 1 && g.cin % 4 === 0;
          const a = ar.bytes(direct ? t.x : rows);
          const src = ar.bytes(t.w);
          const ones = ar.floats(new Float32Array(g.cout).fill(1));
          const zeros = ar.floats(new Float32Array(g.cout));
          const wp = ar.alloc(Math.ceil(g.cout / 8) * rk.qs8_rdot_panel_bytes(k));
          rk.qs8_rdot_pack_weights(k, g.cout, src, ones, zeros, wp);
          const c = ar.alloc(M * g.cout * 4);
          i32.fill(0x5a5a5a5a, c >>> 2, (c >>> 2) + M * g.cout);
          for (let p = 0; p < T; p++) {
            const [m0, m1] = trial % 2 ? splitRange(M, T, p) : [0, M];
            const [n0, n1] = trial % 2 ? [0, g.cout] : splitRange(g.cout, T, p, 8);
            if (m0 < m1 && n0 < n1)
              rk.qs8_rdot_gemm_run(m0, m1, n0, n1, k, a, direct ? g.cin : k4, wp, c, g.cout * 4);
          }
          const got = i32.slice(c >>> 2, (c >>> 2) + M * g.cout);
          expect(`${what} T=${T}: ${got.join() === want.join()}`).toBe(`${what} T=${T}: true`);

          // The 16-bit GEMM on the same activations (zero point 0) and weights, f32 output with
          // scale 1 and bias 0: its accumulators as f32, exact while |acc| < 2^24 (here < 2^21).
          const x = ar.bytes(t.x);
          const qp = ar.alloc(64);
          writeParamBlock(dv, qp, 1, 0);
          const w16 = ar.alloc(Math.ceil(g.cout / 8) * simd.qs8_panel_bytes(g.cin, taps));
          simd.qs8_pack_weights(g.cin, taps, g.cout, src, ones, zeros, w16, 0);
          const k16 = simd.qs8_k16(g.cin, taps);
          const a16 = ar.alloc(Math.ceil(M / 4) * 4 * k16 * 2);
          simd.qs8_im2col16(0, M, g.h, g.w, g.cin, g.ow, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, x, a16, qp, 0);
          const c16 = ar.alloc(M * g.cout * 4);
          simd.qs8_gemm16_run(0, M, 0, g.cout, g.cin, taps, a16, w16, c16, g.cout * 4, 0, qp, 0, 0);
          const ref16 = Int32Array.from(ar.read(c16, M * g.cout));
          expect(`${what} T=${T} vs gemm16: ${got.join() === ref16.join()}`).toBe(
            `${what} T=${T} vs gemm16: true`,
          );
          // The same GEMM with raw int32 output (mode 2): 4 bytes per element in every panel.
          dv.setInt32(qp + QP_OUT_MODE, 2, true);
          const c32 = ar.alloc(M * g.cout * 4);
          simd.qs8_gemm16_run(0, M, 0, g.cout, g.cin, taps, a16, w16, c32, g.cout * 4, 0, qp, 0, 0);
          const raw = i32.slice(c32 >>> 2, (c32 >>> 2) + M * g.cout);
          expect(`${what} T=${T} gemm16 int32: ${raw.join() === want.join()}`).toBe(
            `${what} T=${T} gemm16 int32: true`,
          );
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
