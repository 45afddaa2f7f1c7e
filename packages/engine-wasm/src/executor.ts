/**
 * Runs a plan's kernel calls for one thread. Every thread (the caller's and each worker) runs
 * the same list of steps over its own slice of every op, with a barrier between dependent
 * ops. Each output element is computed by exactly one thread with the same kernel arithmetic
 * and the same accumulation order, so results are bit-identical for any thread count.
 */
import type { PlanKernelName, RelaxedKernelExports } from "./gen/kernels.js";
import type { OpRecord } from "./plan.js";
import type { KernelExports } from "./wasm.js";

/** Control block word indices (Int32 words at plan.controlAddr). */
export const CTL = { COUNT: 0, SENSE: 1, RUN: 2, ERROR: 3, DONE: 4 } as const;
export const CTL_STOP = -1;

/** [start, end) of part `i` of `n` items split in `parts` contiguous chunks of `granule` items. */
export function splitRange(n: number, parts: number, i: number, granule = 1): [number, number] {
  const units = Math.ceil(n / granule);
  const base = Math.floor(units / parts);
  const extra = units % parts;
  const u0 = i * base + Math.min(i, extra);
  const u1 = u0 + base + (i < extra ? 1 : 0);
  return [Math.min(n, u0 * granule), Math.min(n, u1 * granule)];
}

/**
 * A GEMM's share for thread t of T: rows in granules of `mr` when there are at least as many row
 * tiles as panels of 8 columns (or fewer panels than threads), else columns in panels of 8.
 * `preferColumns`: split columns whenever there is a panel per thread (the int8 and f16
 * Winograd ops, whose threads then transform only their own panels' weights).
 */
function splitGemm(
  M: number,
  N: number,
  mr: number,
  T: number,
  t: number,
  preferColumns = false,
): [number, number, number, number] {
  const tilesM = Math.ceil(M / mr);
  const panels = Math.ceil(N / 8);
  const byRows = preferColumns ? panels < T : tilesM >= panels || panels < T;
  if (byRows) {
    const [m0, m1] = splitRange(M, T, t, mr);
    return [m0, m1, 0, N];
  }
  const [n0, n1] = splitRange(N, T, t, 8);
  return [0, M, n0, n1];
}

export type Step = () => void;

const noop: Step = () => {};

/**
 * One kernel call: a plan kernel of the manifest (src/gen/kernels.ts, from
 * scripts/kernel-manifest.mjs) and its arguments, typed by its manifest signature.
 */
export type KernelCall = {
  [N in PlanKernelName]: { kernel: N; args: Parameters<KernelExports[N]> };
}[PlanKernelName];

function call<N extends PlanKernelName>(kernel: N, ...args: Parameters<KernelExports[N]>): KernelCall {
  return { kernel, args } as KernelCall;
}

/** No call: this thread has no slice of the op. */
const NONE: KernelCall[] = [];

/** Thread t of T's kernel calls of an f32 (or f16-weight) op, or null for another op. */
function f32Calls(op: OpRecord, tile: number, T: number, t: number): KernelCall[] | null {
  switch (op.kind) {
    case "gemm":
    case "igemm": {
      const [m0, m1, n0, n1] = splitGemm(op.M, op.N, tile, T, t);
      if (m0 >= m1 || n0 >= n1) return NONE;
      if (op.kind === "gemm") {
        const { K, a, as, w, c, cs, relu } = op;
        return [call("f32_gemm_run", tile, m0, m1, n0, n1, K, a, as, w, c, cs, relu)];
      }
      const { K, ks, ind, w, c, cs, relu } = op;
      return [call("f32_igemm_run", tile, m0, m1, n0, n1, K, ks, ind, w, c, cs, relu)];
    }
    case "bgemm": {
      const [m0, m1, n0, n1] = splitGemm(op.M, op.N, tile, T, t);
      if (m0 >= m1 || n0 >= n1) return NONE;
      const { batch, K, a, as, astride, w, wstride, c, cs, cstride } = op;
      return Array.from({ length: batch }, (_, e) =>
        call(
          "f32_gemm_run",
          tile,
          m0,
          m1,
          n0,
          n1,
          K,
          a + e * astride,
          as,
          w + e * wstride,
          c + e * cstride,
          cs,
          0,
        ),
      );
    }
    case "wino_in": {
      const [t0, t1] = splitRange(op.tiles, T, t);
      if (t0 >= t1) return NONE;
      const { ih, iw, c, tw, x, v, vstride } = op;
      const kernel = op.outTile === 4 ? "f32_wino4_input" : "f32_wino_input";
      return [call(kernel, ih, iw, c, tw, x, v, vstride, t0, t1)];
    }
    case "wino_out": {
      const [t0, t1] = splitRange(op.tiles, T, t);
      if (t0 >= t1) return NONE;
      const { oh, ow, c, tw, m, mstride, bias, y, relu } = op;
      const kernel = op.outTile === 4 ? "f32_wino4_output" : "f32_wino_output";
      return [call(kernel, oh, ow, c, tw, m, mstride, bias, y, relu, t0, t1)];
    }
    case "maxpool": {
      const [p0, p1] = splitRange(op.oh * op.ow, T, t);
      if (p0 >= p1) return NONE;
      const { ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x, y } = op;
      return [call("f32_maxpool", ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x, y, p0, p1)];
    }
    case "add": {
      const [i0, i1] = splitRange(op.n, T, t, 16);
      if (i0 >= i1) return NONE;
      const { a, b, y, relu } = op;
      return [call("f32_vadd", i0, i1, a, b, y, relu)];
    }
    case "gap": {
      const [c0, c1] = splitRange(op.c, T, t, 4);
      if (c0 >= c1) return NONE;
      const { hw, c, x, y } = op;
      return [call("f32_gap", hw, c, x, y, c0, c1)];
    }
    case "softmax": {
      const { n, x, y } = op;
      return [call("f32_softmax", n, x, y)];
    }
    case "f16igemm": {
      const [m0, m1, n0, n1] = splitGemm(op.M, op.N, tile, T, t);
      if (m0 >= m1 || n0 >= n1) return NONE;
      const { K, ks, ind, w, c, cs, relu } = op;
      const scratch = op.scratch + t * op.scratchStride;
      return [call("f32_f16w_igemm_run", tile, m0, m1, n0, n1, K, ks, ind, w, c, cs, relu, scratch)];
    }
    case "f16wino_gemm": {
      const [m0, m1, n0, n1] = splitGemm(op.M, op.N, tile, T, t, true);
      if (m0 >= m1 || n0 >= n1) return NONE;
      const { K, N, v, vstride, w, m, mstride } = op;
      const scratch = op.scratch + t * op.scratchStride;
      return [call("f32_f16w_wino_gemm_run", tile, m0, m1, n0, n1, K, N, v, vstride, w, m, mstride, scratch)];
    }
    default:
      return null;
  }
}

/** Thread t of T's kernel calls of an int8 (qs8) op, or null for another op. */
function qs8Calls(op: OpRecord, T: number, t: number): KernelCall[] | null {
  switch (op.kind) {
    case "qim2col": {
      const [m0, m1] = splitRange(op.M, T, t);
      if (m0 >= m1) return NONE;
      const { ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x, a, qp, merge } = op;
      return [call("qs8_im2col16", m0, m1, ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x, a, qp, merge)];
    }
    case "qgemm": {
      const [m0, m1, n0, n1] = splitGemm(op.M, op.N, 4, T, t);
      if (m0 >= m1 || n0 >= n1) return NONE;
      const { K, ks, a, w, c, cs, relu, qp, rq, rd } = op;
      return [call("qs8_gemm16_run", m0, m1, n0, n1, K, ks, a, w, c, cs, relu, qp, rq, rd)];
    }
    case "qwino_in": {
      const [t0, t1] = splitRange(op.tiles, T, t);
      if (t0 >= t1) return NONE;
      const { ih, iw, c, tw, x, v, vstride, qp, cols } = op;
      return [call("qs8_wino_input", ih, iw, c, tw, x, v, vstride, t0, t1, qp, cols)];
    }
    case "qwino_gemm": {
      const [m0, m1, n0, n1] = splitGemm(op.M, op.N, 4, T, t, true);
      if (m0 >= m1 || n0 >= n1) return NONE;
      const { K, v, vstride, w, oh, ow, N, tw, y, relu, qp, rq, rd, cols } = op;
      const scratch = op.scratch + t * op.scratchStride;
      return [
        call(
          "qs8_wino_gemm_run",
          m0,
          m1,
          n0,
          n1,
          K,
          v,
          vstride,
          w,
          scratch,
          oh,
          ow,
          N,
          tw,
          y,
          relu,
          qp,
          rq,
          rd,
          cols,
        ),
      ];
    }
    case "quant":
    case "dequant": {
      const [i0, i1] = splitRange(op.n, T, t, 16);
      if (i0 >= i1) return NONE;
      const { x, y, qp } = op;
      return [call(op.kind === "quant" ? "qs8_quantize" : "qs8_dequantize", i0, i1, x, y, qp)];
    }
    case "dynparams": {
      const { n, x, qp, pad, padBytes } = op;
      return [call("qs8_dynamic_params", n, x, qp, pad, padBytes)];
    }
    case "qadd": {
      const [i0, i1] = splitRange(op.n, T, t, 16);
      if (i0 >= i1) return NONE;
      const { a, b, y, qa, qb, qy, relu } = op;
      return [call("qs8_add", i0, i1, a, b, y, qa, qb, qy, relu)];
    }
    case "qmaxpool": {
      const [p0, p1] = splitRange(op.oh * op.ow, T, t);
      if (p0 >= p1) return NONE;
      const { ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x, y } = op;
      return [call("qs8_maxpool", ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x, y, p0, p1)];
    }
    case "qgap": {
      const [c0, c1] = splitRange(op.c, T, t, 4);
      if (c0 >= c1) return NONE;
      const { hw, c, x, y, qp } = op;
      return [call("qs8_gap", hw, c, x, y, c0, c1, qp)];
    }
    default:
      return null;
  }
}

/** Thread `tid` of `threads`'s kernel calls of one op (none when it has no slice of it). */
export function opCalls(op: OpRecord, tile: number, tid: number, threads: number): KernelCall[] {
  if (isRelaxedOp(op))
    throw new Error(`layer ${op.layer}: a ${op.kind} call runs only in the relaxed-SIMD kernel module`);
  if (op.single && tid !== 0) return NONE;
  const T = op.single ? 1 : threads;
  const t = op.single ? 0 : tid;
  return f32Calls(op, tile, T, t) ?? qs8Calls(op, T, t) ?? NONE;
}

/** A call record of the relaxed-SIMD module (7-bit input layers). */
type RelaxedOp = Extract<OpRecord, { kind: "rim2col" | "rgemm" }>;

export function isRelaxedOp(op: OpRecord): op is RelaxedOp {
  return op.kind === "rim2col" || op.kind === "rgemm";
}

/** One call of a relaxed-SIMD kernel, typed by its manifest signature. */
export type RelaxedCall = {
  [N in RelaxedCallName]: { kernel: N; args: Parameters<RelaxedKernelExports[N]> };
}[RelaxedCallName];

type RelaxedCallName = "qs8_rdot_im2col" | "qs8_rdot_gemm_run" | (typeof FMA_KERNEL)[keyof typeof FMA_KERNEL];

/** The fused multiply-add kernel of the relaxed-SIMD module for each f32 GEMM kernel (same arguments). */
export const FMA_KERNEL = {
  f32_gemm_run: "f32_fma_gemm_run",
  f32_igemm_run: "f32_fma_igemm_run",
  f32_f16w_igemm_run: "f32_f16w_fma_igemm_run",
  f32_f16w_wino_gemm_run: "f32_f16w_fma_wino_gemm_run",
} as const satisfies Partial<Record<PlanKernelName, keyof RelaxedKernelExports>>;

/** The ops whose calls are all f32 GEMMs (f32 or f16 weights): the ones the FMA kernels run. */
const FMA_OPS: ReadonlySet<OpRecord["kind"]> = new Set([
  "gemm",
  "igemm",
  "bgemm",
  "f16igemm",
  "f16wino_gemm",
]);

export function isFmaOp(op: OpRecord): boolean {
  return FMA_OPS.has(op.kind);
}

/** The FMA kernels for a plan's f32 GEMM ops: the relaxed module's exports and their tile MR. */
export interface FmaKernels {
  rk: RelaxedKernelExports;
  tile: number;
}

/** Thread t of T's calls of an f32 GEMM op on the FMA kernels: its 128-bit calls, renamed. */
export function fmaCalls(op: OpRecord, tile: number, tid: number, threads: number): RelaxedCall[] {
  return opCalls(op, tile, tid, threads).map((c) => {
    const kernel = FMA_KERNEL[c.kernel as keyof typeof FMA_KERNEL];
    if (!kernel) throw new Error(`layer ${op.layer}: ${c.kernel} has no fused multiply-add kernel`);
    return { kernel, args: c.args } as RelaxedCall;
  });
}

/**
 * Thread t of T's calls of a relaxed op: the slices of the 16-bit path's im2col and GEMM
 * (qim2col, qgemm), so each output element is computed by one thread whatever their count.
 */
export function relaxedCalls(op: RelaxedOp, tid: number, threads: number): RelaxedCall[] {
  if (op.single && tid !== 0) return [];
  const T = op.single ? 1 : threads;
  const t = op.single ? 0 : tid;
  if (op.kind === "rim2col") {
    const [m0, m1] = splitRange(op.M, T, t);
    if (m0 >= m1) return [];
    const { ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x, a } = op;
    return [{ kernel: "qs8_rdot_im2col", args: [m0, m1, ih, iw, c, ow, kh, kw, sh, sw, pt, pl, x, a] }];
  }
  const [m0, m1, n0, n1] = splitGemm(op.M, op.N, 4, T, t);
  if (m0 >= m1 || n0 >= n1) return [];
  const { K, a, as, w, c, cs, relu, qp, rq, rd } = op;
  return [{ kernel: "qs8_rdot_gemm_run", args: [m0, m1, n0, n1, K, a, as, w, c, cs, relu, qp, rq, rd] }];
}

/** A step making `calls` through the kernel exports `k` (dispatch by manifest name). */
function stepOf(k: object, calls: (KernelCall | RelaxedCall)[]): Step {
  if (calls.length === 0) return noop;
  const bound = calls.map((c) => {
    const fn = (k as Record<string, unknown>)[c.kernel] as (...args: number[]) => void;
    const args = c.args as number[];
    return () => fn(...args);
  });
  if (bound.length === 1) return bound[0]!;
  return () => {
    for (const b of bound) b();
  };
}

/**
 * Builds the closures thread `tid` of `threads` runs, one per op (a no-op when it has no slice).
 * `rk`: the relaxed-SIMD module's exports on the same memory, needed by relaxed ops. `fma`: run
 * the f32 GEMM ops (isFmaOp) on its fused multiply-add kernels with their own tile.
 */
export function buildSteps(
  k: KernelExports,
  ops: OpRecord[],
  tile: number,
  tid: number,
  threads: number,
  rk?: RelaxedKernelExports,
  fma?: FmaKernels,
): Step[] {
  return ops.map((op) => {
    if (fma && isFmaOp(op)) return stepOf(fma.rk, fmaCalls(op, fma.tile, tid, threads));
    if (!isRelaxedOp(op)) return stepOf(k, opCalls(op, tile, tid, threads));
    if (!rk) throw new Error(`layer ${op.layer}: the plan uses relaxed SIMD but no relaxed module was given`);
    return stepOf(rk, relaxedCalls(op, tid, threads));
  });
}

/** Sense-reversing barrier over the control block; spins briefly, then sleeps. */
export class Barrier {
  private sense = 0;
  /**
   * How long one thread waits at a barrier for the others before it gives up (a thread that
   * died mid-run would otherwise leave the rest waiting forever). Far above the time of any op.
   */
  static timeoutMs = 60_000;
  constructor(
    private readonly ctl: Int32Array,
    private readonly base: number,
    private readonly threads: number,
    private readonly spin = 4000,
  ) {}
  wait(): void {
    const s = (this.sense ^= 1);
    const c = this.ctl;
    if (Atomics.add(c, this.base + CTL.COUNT, 1) === this.threads - 1) {
      Atomics.store(c, this.base + CTL.COUNT, 0);
      Atomics.store(c, this.base + CTL.SENSE, s);
      Atomics.notify(c, this.base + CTL.SENSE);
      return;
    }
    for (let i = 0; i < this.spin; i++) if (Atomics.load(c, this.base + CTL.SENSE) === s) return;
    const deadline = Date.now() + Barrier.timeoutMs;
    while (Atomics.load(c, this.base + CTL.SENSE) !== s) {
      if (Atomics.wait(c, this.base + CTL.SENSE, s ^ 1, 250) === "timed-out" && Date.now() > deadline)
        throw new Error(
          `engine threads stopped responding (no progress for ${Barrier.timeoutMs / 1000} s at a barrier); load the model again`,
        );
    }
  }
}

/**
 * Runs all steps of one thread with the plan's barriers. A failing step does not stop the
 * barrier protocol (the other threads would wait forever); the first error is returned.
 * `stepMs` (profiling, main thread): adds each step's wall time, its barrier wait included, to
 * `stepMs[i]`; without it no clock is read.
 */
export function runSteps(
  steps: Step[],
  barrierAfter: boolean[],
  barrier: Barrier | null,
  stepMs?: Float64Array,
): unknown {
  if (stepMs) return runStepsTimed(steps, barrierAfter, barrier, stepMs);
  let error: unknown;
  for (let i = 0; i < steps.length; i++) {
    if (error === undefined) {
      try {
        steps[i]!();
      } catch (e) {
        error = e ?? new Error("kernel failed");
      }
    }
    if (barrier && barrierAfter[i]) barrier.wait();
  }
  return error;
}

/** runSteps with each step timed (see there). */
function runStepsTimed(
  steps: Step[],
  barrierAfter: boolean[],
  barrier: Barrier | null,
  stepMs: Float64Array,
): unknown {
  let error: unknown;
  for (let i = 0; i < steps.length; i++) {
    const t0 = performance.now();
    if (error === undefined) {
      try {
        steps[i]!();
      } catch (e) {
        error = e ?? new Error("kernel failed");
      }
    }
    if (barrier && barrierAfter[i]) barrier.wait();
    stepMs[i]! += performance.now() - t0;
  }
  return error;
}
