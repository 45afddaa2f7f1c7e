import { readFileSync } from "node:fs";
import type { MelConfig } from "./config.js";
import { DspError } from "./errors.js";
import { hannWindow, type MelFilterbank } from "./filters.js";

interface KernelExports {
  memory: WasmMemory;
  heapBase(): number;
  isSimd(): number;
  configure(
    n: number,
    win: number,
    twM: number,
    twC: number,
    twR: number,
    work: number,
    nMels: number,
    mStart: number,
    mLen: number,
    mOff: number,
    mW: number,
    mTmp: number,
  ): void;
  workBytes(n: number): number;
  rfft(src: number, out: number): void;
  correlatePair(
    raw: number,
    bOffset: number,
    src: number,
    spec: number,
    out: number,
    count: number,
    step: number,
  ): void;
  melFrames(
    sig: number,
    nFrames: number,
    hop: number,
    out: number,
    outStride: number,
    magnitude: number,
    mode: number,
    amin: number,
    refDb: number,
  ): void;
  toDb(ptr: number, n: number, amin: number, refDb: number): void;
  clampTopDb(ptr: number, n: number, topDb: number): number;
  firstNonFinite(ptr: number, n: number): number;
}

export type KernelFlavour = "simd" | "scalar";

// The few WebAssembly JS-API pieces used here (lib ES2022 does not declare them).
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly __brand: "WasmModule";
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const modules = new Map<KernelFlavour, WasmModule>();
let preferred: KernelFlavour | undefined;

/** Where the kernel builds live on disk (for bundlers that embed them; see registerKernelWasm). */
export function kernelWasmUrl(flavour: KernelFlavour): URL {
  return new URL(`../build/dsp-${flavour}.wasm`, import.meta.url);
}

/**
 * Supplies a kernel build's bytes instead of reading build/dsp-FLAVOUR.wasm, for single-file
 * bundles where that file does not exist. Call before the first spectrogram or RealFFT.
 */
export function registerKernelWasm(flavour: KernelFlavour, bytes: Uint8Array): void {
  modules.set(flavour, new WA.Module(bytes));
  preferred = undefined;
}

function loadModule(flavour: KernelFlavour): WasmModule {
  let m = modules.get(flavour);
  if (!m) {
    const url = kernelWasmUrl(flavour);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(url);
    } catch {
      throw new DspError(
        "STATE",
        `the dsp kernel ${url.pathname} is missing; build the package first (npm run build -w @edge-audio/dsp), or supply it with registerKernelWasm()`,
      );
    }
    m = new WA.Module(bytes);
    modules.set(flavour, m);
  }
  return m;
}

/** The kernel flavour used by default: SIMD where the engine validates it, scalar otherwise. */
export function kernelFlavour(): KernelFlavour {
  if (!preferred) {
    const env = process.env.EDGE_AUDIO_DSP_KERNEL;
    if (env === "scalar" || env === "simd") preferred = env;
    else {
      try {
        loadModule("simd");
        preferred = "simd";
      } catch (e) {
        if (e instanceof DspError) throw e;
        preferred = "scalar";
      }
    }
  }
  return preferred;
}

/** A fresh instance of a kernel build (its own linear memory), typed by the caller's export list. */
export function instantiateKernel<T extends { memory: WasmMemory }>(flavour: KernelFlavour): T {
  const inst = new WA.Instance(loadModule(flavour), {
    env: {
      abort: () => {
        throw new DspError("STATE", "dsp kernel aborted");
      },
    },
  });
  return inst.exports as unknown as T;
}

const align = (x: number, a = 16): number => Math.ceil(x / a) * a;

/** The twiddle tables of one FFT size and its Hann window, as the kernel lays them out. */
interface FftTables {
  hann: Float32Array;
  twM: Float32Array;
  twC: Float32Array;
  twR: Float32Array;
}

const tablesBySize = new Map<number, FftTables>();

/** The tables of size n, computed once per size (every plan of that size copies them in). */
function fftTables(n: number): FftTables {
  const hit = tablesBySize.get(n);
  if (hit) return hit;
  const H = n / 2;
  const M = n / 8;
  const twM = new Float32Array(8 * M);
  for (let j = 0; j < M; j++)
    for (let l = 0; l < 4; l++) {
      twM[8 * j + l] = Math.cos((2 * Math.PI * j) / M);
      twM[8 * j + 4 + l] = -Math.sin((2 * Math.PI * j) / M);
    }
  const twC = new Float32Array(8 * M);
  for (let k = 0; k < M; k++)
    for (let l = 0; l < 4; l++) {
      const a = (2 * Math.PI * ((l * k) % H)) / H;
      twC[4 * k + l] = Math.cos(a);
      twC[4 * M + 4 * k + l] = -Math.sin(a);
    }
  const twR = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    twR[k] = Math.cos((2 * Math.PI * k) / n);
    twR[n + k] = -Math.sin((2 * Math.PI * k) / n);
  }
  const tables = { hann: Float32Array.from(hannWindow(n)), twM, twC, twR };
  tablesBySize.set(n, tables);
  return tables;
}
const PAGE = 65536;

/** One kernel instance configured for one FFT size (and optionally one Mel filterbank). */
export class KernelPlan {
  readonly n: number;
  readonly nMels: number;
  readonly flavour: KernelFlavour;
  readonly ex: KernelExports;
  private ioBase: number;

  constructor(n: number, fb: MelFilterbank | null, window: Float64Array | null, flavour = kernelFlavour()) {
    if (!isFastSize(n))
      throw new DspError("BAD_ARGUMENT", `the fast FFT needs a power-of-two size from 32 to 65536, got ${n}`);
    this.n = n;
    this.flavour = flavour;
    this.ex = instantiateKernel<KernelExports>(flavour);
    const M = n / 8;
    const nMels = fb ? fb.nMels : 0;
    this.nMels = nMels;
    let p = align(this.ex.heapBase());
    const win = p;
    p = align(p + n * 4);
    const twM = p;
    p = align(p + 2 * M * 16);
    const twC = p;
    p = align(p + 2 * M * 16);
    const twR = p;
    p = align(p + 2 * n * 4);
    const work = p;
    p = align(p + this.ex.workBytes(n) + 64);
    const mStart = p;
    p = align(p + nMels * 4);
    const mLen = p;
    p = align(p + nMels * 4);
    const mOff = p;
    p = align(p + nMels * 4);
    // rows padded with zero weights to a multiple of 4, so the kernel needs no scalar tail
    const padded = fb ? Array.from(fb.length, (l) => Math.ceil(l / 4) * 4) : [];
    const paddedTotal = padded.reduce((a, b) => a + b, 0);
    const mW = p;
    p = align(p + (paddedTotal + 8) * 4);
    const mTmp = p;
    p = align(p + (nMels + 8) * 4);
    this.ioBase = p;
    this.reserve(0);
    const f32 = new Float32Array(this.ex.memory.buffer);
    const i32 = new Int32Array(this.ex.memory.buffer);
    const t = fftTables(n);
    if (window) for (let i = 0; i < n; i++) f32[win / 4 + i] = window[i]!;
    else f32.set(t.hann, win / 4);
    f32.set(t.twM, twM / 4);
    f32.set(t.twC, twC / 4);
    f32.set(t.twR, twR / 4);
    if (fb) {
      i32.set(fb.start, mStart / 4);
      let off = 0;
      for (let m = 0; m < nMels; m++) {
        i32[mLen / 4 + m] = padded[m]!;
        i32[mOff / 4 + m] = off;
        for (let j = 0; j < padded[m]!; j++)
          f32[mW / 4 + off + j] = j < fb.length[m]! ? fb.weights[fb.offset[m]! + j]! : 0;
        off += padded[m]!;
      }
      for (let i = 0; i < nMels + 8; i++) f32[mTmp / 4 + i] = 1;
    }
    this.ex.configure(n, win, twM, twC, twR, work, nMels, mStart, mLen, mOff, mW, mTmp);
  }

  /** Makes sure `bytes` of scratch memory exist from the I/O base; returns the I/O base pointer. */
  reserve(bytes: number): number {
    const need = this.ioBase + align(bytes) + 64;
    const have = this.ex.memory.buffer.byteLength;
    if (need > have) this.ex.memory.grow(Math.ceil((need - have) / PAGE));
    return this.ioBase;
  }

  f32(): Float32Array {
    return new Float32Array(this.ex.memory.buffer);
  }
}

export const isFastSize = (n: number): boolean =>
  Number.isInteger(n) && n >= 32 && n <= 65536 && (n & (n - 1)) === 0;

/** Whether logMelSpectrogram can use the wasm kernel for this config (else it uses the float64 path). */
export function fastPathSupports(c: MelConfig): boolean {
  return isFastSize(c.nFft) && (c.power === 1 || c.power === 2);
}
