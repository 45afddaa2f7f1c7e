/**
 * The self-check of f32x4.relaxed_madd (fused multiply-add, relaxed SIMD): the instruction may
 * compute a * b + c with one rounding (fused: x64 FMA3, ARM64 fmla) or two (a multiply, then an
 * add), and an engine may choose differently per compiler tier. The f32 FMA kernels are used
 * only when every tier that will run them gives the single-rounding result, so that results do
 * not change when V8 tiers a function up. The cases are lanes where the two roundings differ;
 * the expected value is computed exactly (integers, src/fma-check.ts `exactFmaF32`).
 */
import type { RelaxedTier } from "./relaxed.js";

/** Lanes of a*b+c (f32 values): a, b and c of equal length, a multiple of 4. */
export interface FmaCase {
  name: string;
  a: Float32Array;
  b: Float32Array;
  c: Float32Array;
}

/** One lane where the instruction's result is not the fused one. */
export interface FmaMismatch {
  case: string;
  lane: number;
  got: number;
  fused: number;
  unfused: number;
}

/** The fusion check in one compiler tier. */
export interface FmaTierCheck {
  tier: RelaxedTier;
  /** Lanes run (each one where the fused and the unfused result differ). */
  lanes: number;
  /** Lanes that gave the unfused (two-rounding) result. */
  unfusedLanes: number;
  /** Lanes that differ from the fused result, in all (unfused ones included). */
  wrongLanes: number;
  /** The first 8 of them. */
  mismatches: FmaMismatch[];
}

export interface FmaStatus {
  /** Whether the f32 FMA kernels may be used in this process. */
  usable: boolean;
  /** The check per tier (empty when the host has no relaxed SIMD). */
  tiers: FmaTierCheck[];
  /** One sentence saying why. */
  reason: string;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A finite f32 as sign * m * 2^e with an integer m (m = 0 for zeros). */
function decompose(x: number): { neg: boolean; m: bigint; e: number } {
  f32[0] = x;
  const bits = u32[0]!;
  const field = (bits >>> 23) & 0xff;
  if (field === 0xff) throw new Error(`exactFmaF32 takes finite values, not ${x}`);
  const frac = bits & 0x7fffff;
  return {
    neg: bits >>> 31 === 1,
    m: BigInt(field === 0 ? frac : frac | 0x800000),
    e: field === 0 ? -149 : field - 150,
  };
}

const bitLength = (n: bigint): number => n.toString(2).length;

/**
 * a * b + c rounded once to f32 (round to nearest, ties to even), computed exactly with
 * integers: the fused multiply-add's result. Overflow gives +-Infinity.
 */
export function exactFmaF32(a: number, b: number, c: number): number {
  const x = decompose(a);
  const y = decompose(b);
  const z = decompose(c);
  const pNeg = x.neg !== y.neg;
  const p = x.m * y.m;
  const pe = x.e + y.e;
  if (p === 0n && z.m === 0n) return pNeg && z.neg ? -0 : 0;
  const e0 = Math.min(pe, z.e);
  const sum = (pNeg ? -p : p) * (1n << BigInt(pe - e0)) + (z.neg ? -z.m : z.m) * (1n << BigInt(z.e - e0));
  if (sum === 0n) return 0;
  const neg = sum < 0n;
  const mag = neg ? -sum : sum;
  // Result q * 2^eq with q < 2^24 (eq >= -149: subnormals keep fewer bits).
  const eq = Math.max(e0 + bitLength(mag) - 24, -149);
  let q: bigint;
  if (eq <= e0) q = mag << BigInt(e0 - eq);
  else {
    const shift = BigInt(eq - e0);
    q = mag >> shift;
    const rem = mag - (q << shift);
    const half = 1n << (shift - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
  }
  const v = Number(q) * 2 ** eq;
  const r = v > 3.4028234663852886e38 ? Number.POSITIVE_INFINITY : v;
  return neg ? -r : r;
}

/** a * b + c with two roundings to f32 (the product, then the sum): the unfused result. */
export function unfusedF32(a: number, b: number, c: number): number {
  return Math.fround(Math.fround(a * b) + c);
}

/** Lanes from a generator of (a, b, c) triples, padded to a multiple of 4 with the first. */
function caseOf(name: string, triples: [number, number, number][]): FmaCase {
  while (triples.length % 4 !== 0) triples.push(triples[0]!);
  return {
    name,
    a: Float32Array.from(triples, (t) => t[0]),
    b: Float32Array.from(triples, (t) => t[1]),
    c: Float32Array.from(triples, (t) => t[2]),
  };
}

/** Deterministic pseudo-random f32 in [1, 2) * 2^e from a seed. */
function randomF32(next: () => number, e: number): number {
  return Math.fround((1 + next() / 2 ** 32) * 2 ** e);
}

/**
 * a * b - round(a * b): the product's rounding error, exactly what a fused multiply-add keeps
 * and the unfused one loses (0), for pseudo-random a, b of magnitude 2^ea, 2^eb.
 */
function residualCase(name: string, seed: number, ea: number, eb: number, lanes: number): FmaCase {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  const triples: [number, number, number][] = [];
  for (let tries = 0; triples.length < lanes && tries < 100 * lanes; tries++) {
    const sign = next() & 1 ? -1 : 1;
    const a = sign * randomF32(next, ea);
    const b = randomF32(next, eb);
    const c = -Math.fround(a * b);
    if (!Object.is(exactFmaF32(a, b, c), unfusedF32(a, b, c))) triples.push([a, b, c]);
  }
  return caseOf(name, triples);
}

/** The check's cases: every lane has a fused result that differs from the unfused one. */
export function fmaCheckCases(): FmaCase[] {
  const e = 2 ** -12;
  return [
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: the product rounds (tie, to even) to 1 + 2^-11.
    caseOf("(1 + 2^-12)^2 - (1 + 2^-11): 2^-24 fused, 0 unfused", [[1 + e, 1 + e, -(1 + 2 * e)]]),
    caseOf("-(1 + 2^-12)(1 + 2^-12) + (1 + 2^-11): sign", [[-(1 + e), 1 + e, 1 + 2 * e]]),
    caseOf("(1 + 2^-12)(1 - 2^-12 - 2^-23) + ...: product below 1", [
      [1 + e, Math.fround(1 - e - 2 ** -23), -Math.fround((1 + e) * Math.fround(1 - e - 2 ** -23))],
    ]),
    residualCase("product rounding error, magnitudes near 1", 7, 0, 0, 16),
    residualCase("product rounding error, large magnitudes (2^60 x 2^50)", 8, 60, 50, 8),
    residualCase("product rounding error, subnormal result (2^-60 x 2^-50)", 9, -60, -50, 8),
    residualCase("product rounding error, mixed magnitudes (2^20 x 2^-30)", 10, 20, -30, 8),
  ];
}

/**
 * Runs every case through `madd` (lane i of the result: a[i] * b[i] + c[i] as the tier computes
 * it) and compares each lane with the fused result.
 */
export function checkFmaTier(
  tier: RelaxedTier,
  madd: (a: Float32Array, b: Float32Array, c: Float32Array) => Float32Array,
): FmaTierCheck {
  const mismatches: FmaMismatch[] = [];
  let lanes = 0;
  let wrongLanes = 0;
  let unfusedLanes = 0;
  for (const t of fmaCheckCases()) {
    const got = madd(t.a, t.b, t.c);
    for (let i = 0; i < t.a.length; i++) {
      lanes++;
      const fused = exactFmaF32(t.a[i]!, t.b[i]!, t.c[i]!);
      if (Object.is(got[i], fused)) continue;
      const unfused = unfusedF32(t.a[i]!, t.b[i]!, t.c[i]!);
      wrongLanes++;
      if (Object.is(got[i], unfused)) unfusedLanes++;
      if (mismatches.length < 8) mismatches.push({ case: t.name, lane: i, got: got[i]!, fused, unfused });
    }
  }
  return { tier, lanes, unfusedLanes, wrongLanes, mismatches };
}

/**
 * Whether the FMA kernels may run, from the check in Liftoff and TurboFan: fused in TurboFan,
 * and in Liftoff too unless Liftoff is turned off for the process (`liftoffRuns` false).
 */
export function fmaVerdict(
  liftoff: FmaTierCheck,
  turbofan: FmaTierCheck,
  liftoffRuns: boolean,
): Omit<FmaStatus, "tiers"> {
  const how = (c: FmaTierCheck) =>
    c.unfusedLanes === c.wrongLanes
      ? `rounds twice (unfused) in ${c.unfusedLanes} of ${c.lanes} lanes`
      : `differs from the fused result in ${c.wrongLanes} of ${c.lanes} lanes`;
  if (turbofan.wrongLanes > 0)
    return { usable: false, reason: `f32x4.relaxed_madd ${how(turbofan)} in the optimizing tier (TurboFan)` };
  if (liftoff.wrongLanes === 0)
    return { usable: true, reason: "f32x4.relaxed_madd is fused in Liftoff and TurboFan" };
  if (!liftoffRuns)
    return {
      usable: true,
      reason: `f32x4.relaxed_madd is fused in TurboFan, the only tier of this process (Liftoff, where it ${how(liftoff)}, is turned off)`,
    };
  return {
    usable: false,
    reason: `f32x4.relaxed_madd is fused in TurboFan but ${how(liftoff)} in Liftoff (the baseline tier, which stays on)`,
  };
}
