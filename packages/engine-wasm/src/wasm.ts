/** Loading the engine's WebAssembly builds. */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";

export type Isa = "wasmsimd" | "scalar";

/**
 * Exports of the kernel module the host calls (pointers are byte addresses in the shared memory).
 * The MRx8 tile kernels behind f32_gemm_run / f32_igemm_run are exported too but only called
 * through those.
 */
/** The argument list the f32 and int8 max-pool kernels share. */
type MaxpoolKernel = (
  ih: number,
  iw: number,
  c: number,
  ow: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  padTop: number,
  padLeft: number,
  x: number,
  y: number,
  p0: number,
  p1: number,
) => void;

export interface KernelExports {
  heap_base(): number;
  simd_enabled(): number;
  f32_pack_weights(k: number, n: number, src: number, bias: number, dst: number): void;
  f32_gemm_run(
    tile: number,
    m0: number,
    m1: number,
    n0: number,
    n1: number,
    kc: number,
    a: number,
    as: number,
    w: number,
    c: number,
    cs: number,
    relu: number,
  ): void;
  f32_igemm_run(
    tile: number,
    m0: number,
    m1: number,
    n0: number,
    n1: number,
    kc: number,
    ks: number,
    ind: number,
    w: number,
    c: number,
    cs: number,
    relu: number,
  ): void;
  f32_vadd(i0: number, i1: number, a: number, b: number, y: number, relu: number): void;
  f32_maxpool: MaxpoolKernel;
  f32_gap(hw: number, c: number, x: number, y: number, c0: number, c1: number): void;
  f32_softmax(n: number, x: number, y: number): void;
  f32_peak(iters: number, seed: number): number;
  f32_wino_pack_weights(cin: number, cout: number, src: number, dst: number): void;
  f32_wino_input(
    ih: number,
    iw: number,
    c: number,
    tw: number,
    x: number,
    v: number,
    vstride: number,
    t0: number,
    t1: number,
  ): void;
  f32_wino_output(
    oh: number,
    ow: number,
    c: number,
    tw: number,
    m: number,
    mstride: number,
    bias: number,
    y: number,
    relu: number,
    t0: number,
    t1: number,
  ): void;
  // f16 weights and int8 (qs8) kernels, assembly/quant.ts
  f16_pack_weights(k: number, n: number, src: number, bias: number, dst: number): void;
  f16_widen_panels(panels: number, k: number, src: number, dst: number): void;
  f32_f16w_igemm_run(
    tile: number,
    m0: number,
    m1: number,
    n0: number,
    n1: number,
    kc: number,
    ks: number,
    ind: number,
    w: number,
    c: number,
    cs: number,
    relu: number,
    scratch: number,
  ): void;
  qs8_panel_bytes(kc: number, ks: number): number;
  qs8_unpack_int4(rows: number, n: number, src: number, dst: number): void;
  qs8_pack_weights(
    kc: number,
    ks: number,
    n: number,
    src: number,
    scales: number,
    bias: number,
    dst: number,
    pairMajor: number,
  ): void;
  qs8_k16(kc: number, ks: number): number;
  qs8_im2col16(
    m0: number,
    m1: number,
    ih: number,
    iw: number,
    c: number,
    ow: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    x: number,
    a16: number,
    qp: number,
    merge: number,
  ): void;
  qs8_gemm16_run(
    m0: number,
    m1: number,
    n0: number,
    n1: number,
    kc: number,
    ks: number,
    a16: number,
    w: number,
    c: number,
    cs: number,
    relu: number,
    qp: number,
    rq: number,
    rd: number,
  ): void;
  qs8_wino_input(
    ih: number,
    iw: number,
    c: number,
    tw: number,
    x: number,
    v: number,
    vstride: number,
    t0: number,
    t1: number,
    qp: number,
    cols: number,
  ): void;
  qs8_wino_weights(kp: number, g: number, u: number, ustride: number): void;
  qs8_wino_scratch_bytes(cin: number, tiles: number, cols: number): number;
  qs8_wino_gemm_run(
    m0: number,
    m1: number,
    n0: number,
    n1: number,
    cin: number,
    v: number,
    vstride: number,
    w: number,
    scratch: number,
    oh: number,
    ow: number,
    cout: number,
    tw: number,
    y: number,
    relu: number,
    qp: number,
    rq: number,
    rd: number,
    cols: number,
  ): void;
  qs8_wino3_weights(kp: number, g: number, u: number, ustride: number, i: number): void;
  qs8_quantize(i0: number, i1: number, x: number, y: number, qp: number): void;
  qs8_dequantize(i0: number, i1: number, x: number, y: number, qp: number): void;
  qs8_dynamic_params(n: number, x: number, qp: number, pad: number, padBytes: number): void;
  qs8_add(
    i0: number,
    i1: number,
    a: number,
    b: number,
    y: number,
    qa: number,
    qb: number,
    qy: number,
    relu: number,
  ): void;
  qs8_maxpool: MaxpoolKernel;
  qs8_gap(hw: number, c: number, x: number, y: number, c0: number, c1: number, qp: number): void;
  qs8_peak(iters: number, seed: number): number;
}

/** Tiles (MR of the MRx8 micro-kernels) present in both builds. */
export const GEMM_TILES = [1, 2, 3, 4, 5, 6, 7] as const;
/** Tile used by the executor (measured fastest on x64 V8; see README). */
export const DEFAULT_TILE = 4;

const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98,
  11,
]);

/** Whether this host's WebAssembly supports 128-bit SIMD. */
export function hostHasSimd(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

export function wasmPath(isa: Isa): string {
  return fileURLToPath(
    new URL(`../build/engine-${isa === "wasmsimd" ? "simd" : "scalar"}.wasm`, import.meta.url),
  );
}

const modules = new Map<Isa, WebAssembly.Module>();

export function kernelModule(isa: Isa): WebAssembly.Module {
  let m = modules.get(isa);
  if (!m) {
    m = new WebAssembly.Module(fs.readFileSync(wasmPath(isa)));
    modules.set(isa, m);
  }
  return m;
}

export const PAGE = 65536;

export function createMemory(bytes: number): WebAssembly.Memory {
  const pages = Math.ceil(bytes / PAGE);
  if (pages > 65536) throw new Error(`the model needs ${bytes} bytes of wasm memory, more than 4 GiB`);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const inst = new WebAssembly.Instance(module, {
    env: {
      memory,
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`engine kernel aborted at ${line}:${col}`);
      },
    },
  });
  return inst.exports as unknown as KernelExports;
}
