/** Loading the engine's WebAssembly builds. */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { F32_GEMM_TILES, type KernelExports } from "./gen/kernels.js";

export type Isa = "wasmsimd" | "scalar";

/**
 * Exports of the kernel module the host calls, generated from the kernel manifest
 * (scripts/kernel-manifest.mjs) with every argument, so a call with the wrong arity does not
 * compile. The MRx8 tile kernels behind f32_gemm_run / f32_igemm_run are exported too but only
 * called through those.
 */
export type { KernelExports };

/** Tiles (MR of the MRx8 micro-kernels) present in both builds (the manifest's). */
export const GEMM_TILES = F32_GEMM_TILES;
/** Tile used by the executor (measured fastest on x64 V8; see README). */
export const DEFAULT_TILE = 4;
/**
 * Tile of the fused multiply-add GEMMs (`fma` load option): 6x8 keeps 12 accumulators, the two
 * weight vectors and the broadcast input in 15 of x64's 16 vector registers, with no temporary
 * for the product (measured fastest; see README, "Fused multiply-add").
 */
export const DEFAULT_FMA_TILE = 6;

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
