/**
 * Relaxed SIMD: detection and self-check of i32x4.relaxed_dot_i8x16_i7x16_add_s, and the
 * relaxed kernel module (build/engine-relaxed.wasm) compiled only when the check passes.
 *
 * The instruction is exact for a second operand in [0, 127], but an engine may still get it
 * wrong in one compiler tier (Node 20's baseline compiler Liftoff on x64 returns a wrong sum),
 * and a function's results would then change when V8 tiers it up. So the check compiles the
 * module once in each tier, Liftoff only and TurboFan only (V8 flags set just for that
 * compilation), runs the instruction on edge cases in both and compares every lane with the
 * exact integer result:
 * - both exact: the kernels run with V8's normal tiering;
 * - TurboFan exact, Liftoff not: when the int8 kernels are asked for (`relaxedSimdStatus()`),
 *   V8's Liftoff is turned off for the rest of the process (`--no-liftoff`, so every wasm
 *   function compiled from then on, of any module, is compiled by TurboFan only; the module's
 *   functions compile lazily, at their first call) and the kernel module is the one the check
 *   ran in TurboFan; with Liftoff on, it is the same bytes compiled with normal tiering;
 * - TurboFan wrong, or the instruction absent: the relaxed kernels are not used.
 * The same compilations check f32x4.relaxed_madd for fusion (src/fma-check.ts): the f32 FMA
 * kernels are used when it is fused in both tiers, or in TurboFan when the process was started
 * with --no-liftoff (`fmaStatus()`); asking for them alone never turns Liftoff off.
 * On Node 20 relaxed SIMD sits behind `--experimental-wasm-relaxed-simd`, set here at run time
 * when the module does not validate without it.
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import * as v8 from "node:v8";
import { checkFmaTier, type FmaStatus, type FmaTierCheck, fmaVerdict } from "./fma-check.js";
import type { RelaxedKernelExports } from "./gen/kernels.js";
import { createMemory, instantiate } from "./wasm.js";

export type { RelaxedKernelExports };

export type RelaxedTier = "liftoff" | "turbofan";

/** One lane where the instruction's result differs from the exact one. */
export interface RelaxedMismatch {
  case: string;
  lane: number;
  got: number;
  want: number;
}

/** The self-check in one compiler tier. */
export interface RelaxedTierCheck {
  tier: RelaxedTier;
  /** Cases run (each checks 4 lanes). */
  cases: number;
  /** Lanes that differ from the exact result (the first 8). */
  mismatches: RelaxedMismatch[];
  /** Lanes that differ, in all. */
  wrongLanes: number;
}

export interface RelaxedSimdStatus {
  /** Whether the relaxed kernels may be used on this host. */
  usable: boolean;
  /** "native": the module validates as it is; "flag": after setting --experimental-wasm-relaxed-simd; null: not supported. */
  enabledBy: "native" | "flag" | null;
  /** The self-check per tier (empty when the instruction is absent). */
  tiers: RelaxedTierCheck[];
  /** How the relaxed module runs: normal V8 tiering, TurboFan only (Liftoff turned off), or not at all. */
  runs: "tiering" | "turbofan-only" | null;
  /** One sentence saying why. */
  reason: string;
}

export function relaxedWasmPath(): string {
  return fileURLToPath(new URL("../build/engine-relaxed.wasm", import.meta.url));
}

/** One self-check case: `blocks` 16-byte blocks of a (signed) and b (in [0, 127]), accumulator c. */
interface DotCase {
  name: string;
  a: Int8Array;
  b: Uint8Array;
  c: Int32Array;
}

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;

function filledCase(name: string, a: number, b: number, c: number, blocks = 1): DotCase {
  return {
    name,
    a: new Int8Array(16 * blocks).fill(a),
    b: new Uint8Array(16 * blocks).fill(b),
    c: new Int32Array(4).fill(c),
  };
}

/** A case of pseudo-random bytes (b in [0, 127]) and accumulators, from a seed. */
function randomCase(name: string, seed: number, blocks: number): DotCase {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  const a = new Int8Array(16 * blocks).map(() => (next() >>> 24) - 128);
  const b = new Uint8Array(16 * blocks).map(() => next() >>> 25);
  const c = new Int32Array(4).map(() => next() | 0);
  return { name, a, b, c };
}

/** Edge cases: 7-bit extremes, signs, the accumulator's wrap-around, per-lane patterns, long chains. */
export function relaxedCheckCases(): DotCase[] {
  const lanes: DotCase = {
    name: "distinct bytes per lane (pairing and lane order)",
    a: new Int8Array(16).map((_, i) => (i * 37 - 128) | 0),
    b: new Uint8Array(16).map((_, i) => (i * 29 + 3) & 127),
    c: new Int32Array([1, -2, 3, -4]),
  };
  const signs: DotCase = {
    name: "alternating extremes",
    a: new Int8Array(16).map((_, i) => (i % 2 ? 127 : -128)),
    b: new Uint8Array(16).map((_, i) => (i % 3 ? 127 : 0)),
    c: new Int32Array([0, 5, -5, 1 << 20]),
  };
  return [
    filledCase("-128 x 127 (largest negative pair sums, no i16 saturation)", -128, 127, 0),
    filledCase("127 x 127 (largest positive pair sums)", 127, 127, 0),
    filledCase("-128 x 127 onto INT32_MIN (wraps)", -128, 127, I32_MIN),
    filledCase("127 x 127 onto INT32_MAX (wraps)", 127, 127, I32_MAX),
    filledCase("-1 x 1 onto -7 (sign, accumulator)", -1, 1, -7),
    filledCase("x 0 (accumulator passes through)", -128, 0, 123456789),
    filledCase("0 x 127", 0, 127, -1),
    filledCase("-128 x 127, 40 blocks chained (accumulator wraps)", -128, 127, I32_MIN + 1000, 40),
    lanes,
    signs,
    randomCase("random, 1 block", 1, 1),
    randomCase("random, 7 blocks", 2, 7),
    randomCase("random, 37 blocks", 3, 37),
  ];
}

/** Exact lane results of a case: c + the sum of each lane's 4-byte dot products, modulo 2^32. */
export function exactDot(t: DotCase): Int32Array {
  const out = Int32Array.from(t.c);
  for (let i = 0; i < t.a.length; i++) {
    const lane = (i >> 2) & 3;
    out[lane] = (out[lane]! + t.a[i]! * t.b[i]!) | 0;
  }
  return out;
}

const A_AT = 4096;
const B_AT = A_AT + 4096;
const C_AT = B_AT + 4096;
const OUT_AT = C_AT + 64;

/** Runs every case through relaxed_dot_check of an instance and compares it with exactDot. */
function checkInstance(
  k: RelaxedKernelExports,
  mem: WebAssembly.Memory,
  tier: RelaxedTier,
): RelaxedTierCheck {
  const cases = relaxedCheckCases();
  const mismatches: RelaxedMismatch[] = [];
  let wrongLanes = 0;
  for (const t of cases) {
    new Int8Array(mem.buffer, A_AT, t.a.length).set(t.a);
    new Uint8Array(mem.buffer, B_AT, t.b.length).set(t.b);
    new Int32Array(mem.buffer, C_AT, 4).set(t.c);
    k.relaxed_dot_check(A_AT, B_AT, C_AT, OUT_AT, t.a.length / 16);
    const got = new Int32Array(mem.buffer, OUT_AT, 4);
    const want = exactDot(t);
    for (let lane = 0; lane < 4; lane++)
      if (got[lane] !== want[lane]) {
        wrongLanes++;
        if (mismatches.length < 8)
          mismatches.push({ case: t.name, lane, got: got[lane]!, want: want[lane]! });
      }
  }
  return { tier, cases: cases.length, mismatches, wrongLanes };
}

export function instantiateRelaxed(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): RelaxedKernelExports {
  return instantiate(module, memory) as unknown as RelaxedKernelExports;
}

/** The wasm bytes with a custom section appended, so that V8 compiles them anew (no module cache hit). */
function withCustomSection(bytes: Uint8Array<ArrayBuffer>, name: string): Uint8Array<ArrayBuffer> {
  const nameBytes = new TextEncoder().encode(name);
  if (nameBytes.length > 127) throw new Error("custom section name too long");
  const size = 1 + nameBytes.length;
  if (size > 127) throw new Error("custom section too long");
  const out = new Uint8Array(bytes.length + 2 + size);
  out.set(bytes);
  out.set([0, size, nameBytes.length], bytes.length);
  out.set(nameBytes, bytes.length + 3);
  return out;
}

/** V8 wasm tier flags the process was started with (command line or NODE_OPTIONS). */
function startupTierFlags(): string[] {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  return given.filter((f) => /^--(no-)?liftoff(-only)?$/.test(f));
}

function setTier(tier: RelaxedTier | "startup"): void {
  if (tier === "liftoff") v8.setFlagsFromString("--liftoff --liftoff-only");
  else if (tier === "turbofan") v8.setFlagsFromString("--no-liftoff-only --no-liftoff");
  else {
    // --liftoff-only turned dynamic tiering off (a flag implication not undone with it)
    v8.setFlagsFromString("--liftoff --no-liftoff-only --wasm-dynamic-tiering");
    for (const f of startupTierFlags()) v8.setFlagsFromString(f);
  }
}

/** relaxed_fma_check of an instance as a function of the lanes a, b, c (memory from A_AT on). */
export function fmaLanes(k: RelaxedKernelExports, mem: WebAssembly.Memory) {
  return (a: Float32Array, b: Float32Array, c: Float32Array): Float32Array => {
    const n = a.length;
    const at = (i: number) => A_AT + i * n * 4;
    for (const [i, v] of [a, b, c].entries()) new Float32Array(mem.buffer, at(i), n).set(v);
    k.relaxed_fma_check(at(0), at(1), at(2), at(3), n / 4);
    return new Float32Array(mem.buffer, at(3), n).slice();
  };
}

/** Compiles the bytes with only `tier` enabled and runs both self-checks on the result. */
function checkTier(
  bytes: Uint8Array<ArrayBuffer>,
  tier: RelaxedTier,
): { module: WebAssembly.Module; check: RelaxedTierCheck; fma: FmaTierCheck } {
  setTier(tier);
  // Lazy compilation compiles each function at its first call, with the flags of that moment:
  // the check calls it right away.
  const module = new WebAssembly.Module(
    tier === "liftoff" ? withCustomSection(bytes, "tier-check-liftoff") : bytes,
  );
  const mem = createMemory(1 << 16);
  const k = instantiateRelaxed(module, mem);
  return { module, check: checkInstance(k, mem, tier), fma: checkFmaTier(tier, fmaLanes(k, mem)) };
}

function enableRelaxed(bytes: Uint8Array<ArrayBuffer>): RelaxedSimdStatus["enabledBy"] {
  if (WebAssembly.validate(bytes)) return "native";
  v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  return WebAssembly.validate(bytes) ? "flag" : null;
}

interface SelfCheck {
  status: RelaxedSimdStatus;
  fma: FmaStatus;
  /** The module the check ran in TurboFan (null when neither check passed). */
  module: WebAssembly.Module | null;
  /** The module's bytes, for its compilation with V8's normal tiering. */
  bytes: Uint8Array<ArrayBuffer>;
  /** That compilation, once made. */
  tiering?: WebAssembly.Module;
}

/** Set when relaxedSimdStatus turned Liftoff off for the process. */
let liftoffOff = false;

let checked: SelfCheck | undefined;

const NO_RELAXED = "this host's WebAssembly has no relaxed SIMD, even with --experimental-wasm-relaxed-simd";

/** The dot product's verdict from its check per tier (Liftoff first). */
function dotVerdict(
  liftoff: RelaxedTierCheck,
  turbofan: RelaxedTierCheck,
): Pick<RelaxedSimdStatus, "usable" | "runs" | "reason"> {
  if (turbofan.wrongLanes > 0)
    return { usable: false, runs: null, reason: "the optimizing tier (TurboFan) gives inexact results" };
  if (liftoff.wrongLanes === 0)
    return { usable: true, runs: "tiering", reason: "exact in Liftoff and TurboFan" };
  return {
    usable: true,
    runs: "turbofan-only",
    reason: "exact in TurboFan, inexact in Liftoff: Liftoff is turned off for this process",
  };
}

function runSelfCheck(): SelfCheck {
  const bytes: Uint8Array<ArrayBuffer> = new Uint8Array(fs.readFileSync(relaxedWasmPath()));
  const enabledBy = enableRelaxed(bytes);
  if (enabledBy === null)
    return {
      status: { usable: false, enabledBy, tiers: [], runs: null, reason: NO_RELAXED },
      fma: { usable: false, tiers: [], reason: NO_RELAXED },
      module: null,
      bytes,
    };
  const liftoff = checkTier(bytes, "liftoff");
  const turbofan = checkTier(bytes, "turbofan");
  const dot = dotVerdict(liftoff.check, turbofan.check);
  // The kernels use the module the check ran in TurboFan; relaxedSimdStatus turns Liftoff off
  // for turbofan-only before any of its int8 kernels is called (compiled).
  setTier("startup");
  const fma = fmaVerdict(liftoff.fma, turbofan.fma, !startupTierFlags().includes("--no-liftoff"));
  return {
    status: { ...dot, enabledBy, tiers: [liftoff.check, turbofan.check] },
    fma: { ...fma, tiers: [liftoff.fma, turbofan.fma] },
    module: dot.usable || fma.usable ? turbofan.module : null,
    bytes,
  };
}

/**
 * Runs the self-check once per process (the first call) and returns the int8 dot product's
 * outcome. The check changes V8 flags (see the module comment), so it runs only when asked for;
 * with the outcome turbofan-only, Liftoff is turned off from here on.
 */
export function relaxedSimdStatus(): RelaxedSimdStatus {
  checked ??= runSelfCheck();
  if (checked.status.runs === "turbofan-only") {
    setTier("turbofan");
    liftoffOff = true;
  }
  return checked.status;
}

/**
 * The fusion check of f32x4.relaxed_madd (run with the dot product's, once per process): whether
 * the f32 FMA kernels of the relaxed module may be used, and why.
 */
export function fmaStatus(): FmaStatus {
  checked ??= runSelfCheck();
  return checked.fma;
}

/**
 * The relaxed kernel module when either check passed (the int8 dot product's, `relaxedSimdStatus`,
 * or the fusion check, `fmaStatus`), else null (runs the checks if needed).
 */
export function relaxedKernelModule(): WebAssembly.Module | null {
  checked ??= runSelfCheck();
  if (checked.module === null || liftoffOff) return checked.module;
  // A module keeps the tiering of the moment it was compiled: the check's TurboFan compilation,
  // made with dynamic tiering off, would run the functions it compiles later in Liftoff for
  // good (2-3x slower). With Liftoff on, the kernels run in a compilation of the same bytes made
  // with the process's own tier flags (both tiers passed the checks).
  checked.tiering ??= new WebAssembly.Module(withCustomSection(checked.bytes, "tiering"));
  return checked.tiering;
}
