/**
 * The memory map of the shared wasm memory, from the module's heap base up: control block,
 * zero buffer, quantization parameter blocks and padding vectors, indirection buffers, packed
 * weights, per-thread scratch (f16, int8 Winograd), then the activation arena (which also holds
 * the raw tensors while loading). And the resolution of a lowered call's references to addresses.
 */

import type { EamGraph } from "../format.js";
import { QP_BLOCK_BYTES } from "../gen/layout.js";
import {
  type AddrRef,
  ALIGN,
  align,
  type IndirectionSpec,
  type LoweredGraph,
  type OpRecord,
  type OpTemplate,
  type ScratchKind,
  type WeightLoad,
} from "./types.js";

export interface MemoryMap {
  controlAddr: number;
  zeroAddr: number;
  zeroBytes: number;
  /** Parameter block or padding vector key -> address. */
  blockAddr: Map<string, number>;
  indirectionAddr: number[];
  indirectionBytes: number;
  /** Packed weight destinations, in load order. */
  weightDst: number[];
  weightsAddr: number;
  weightsBytes: number;
  scratchAddr: Record<ScratchKind, number>;
  arenaAddr: number;
  /** Raw tensors while loading, at the arena's address. */
  loadScratchBytes: number;
  totalBytes: number;
}

/** The zero buffer covers the widest conv input pixel and output row (at least 64 bytes). */
function zeroBufferBytes(graph: EamGraph, shapes: ReadonlyMap<string, number[]>): number {
  let bytes = 64;
  for (const l of graph.layers) {
    if (l.op === "conv") bytes = Math.max(bytes, shapes.get(l.input)![2]! * 4, l.filters * 4);
  }
  return align(bytes);
}

/** Scratch for one raw weight tensor as stored (f32, f16, i8, or 4-bit plus its i8 copy), its bias and scales. */
function rawLoadBytes(w: WeightLoad): number {
  const raw =
    w.dtype === "f32"
      ? align(w.k * w.n * 4)
      : w.dtype === "f16"
        ? align(w.k * w.n * 2)
        : w.dtype === "i8"
          ? align(w.k * w.n)
          : align(w.k * Math.ceil(w.n / 2)) + align(w.k * w.n);
  return raw + 3 * align(w.n * 4) + ALIGN;
}

export function memoryMap(
  graph: EamGraph,
  g: LoweredGraph,
  opts: { heapBase: number; threads: number; arenaBytes: number },
): MemoryMap {
  let cur = align(opts.heapBase, 64);
  const controlAddr = cur;
  cur += 64;
  const zeroBytes = zeroBufferBytes(graph, g.shapes);
  const zeroAddr = cur;
  cur += zeroBytes;
  const blockAddr = new Map<string, number>();
  for (const key of g.blocks.keys()) {
    blockAddr.set(key, cur);
    cur += QP_BLOCK_BYTES;
  }
  for (const [key, pad] of g.pads) {
    blockAddr.set(key, cur);
    cur += align(pad.bytes);
  }
  const indirectionAddr: number[] = [];
  const indirectionStart = cur;
  for (const spec of g.indirection) {
    indirectionAddr.push(cur);
    cur += align(indirectionBytes(spec));
  }
  const indirectionTotal = cur - indirectionStart;
  const weightsAddr = cur;
  const weightDst: number[] = [];
  for (const w of g.weights) {
    weightDst.push(cur);
    cur += align(w.packedBytes);
  }
  const weightsBytes = cur - weightsAddr;
  const threads = Math.max(1, opts.threads);
  const f16 = cur;
  cur += g.scratchStride.f16 * threads;
  const qwino = cur;
  cur += g.scratchStride.qwino * threads;
  const arenaAddr = cur;
  const loadScratchBytes = g.weights.reduce((m, w) => Math.max(m, rawLoadBytes(w)), 0);
  cur += Math.max(opts.arenaBytes, loadScratchBytes);
  return {
    controlAddr,
    zeroAddr,
    zeroBytes,
    blockAddr,
    indirectionAddr,
    indirectionBytes: indirectionTotal,
    weightDst,
    weightsAddr,
    weightsBytes,
    scratchAddr: { f16, qwino },
    arenaAddr,
    loadScratchBytes,
    totalBytes: align(cur, 65536),
  };
}

/** Bytes of an indirection buffer: one pointer per output pixel and tap. */
export function indirectionBytes(spec: IndirectionSpec): number {
  const g = spec.geometry;
  return g.oh * g.ow * g.kh * g.kw * 4;
}

/** Resolves references against the memory map and a tensor address function. */
export function addressResolver(
  map: MemoryMap,
  g: LoweredGraph,
  tensorAddr: (name: string) => number,
): (ref: AddrRef) => number {
  const blockAt = (key: string): number => {
    const a = map.blockAddr.get(key);
    if (a === undefined) throw new Error(`plan: no parameter block ${key}`);
    return a;
  };
  return (ref) => {
    if ("tensor" in ref) return tensorAddr(ref.tensor);
    if ("block" in ref) return blockAt(ref.block);
    if ("weight" in ref) return map.weightDst[ref.weight]! + ref.offset;
    if ("indirection" in ref) return map.indirectionAddr[ref.indirection]!;
    if ("scratch" in ref) return map.scratchAddr[ref.scratch];
    if ("scratchStride" in ref) return g.scratchStride[ref.scratchStride];
    return (tensorAddr(ref.distance[0]) - tensorAddr(ref.distance[1])) >>> 0;
  };
}

/** A call record with every reference replaced by its address. */
export function resolveOp(op: OpTemplate, resolve: (ref: AddrRef) => number): OpRecord {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(op))
    out[k] = typeof v === "object" && v !== null ? resolve(v as AddrRef) : v;
  return out as unknown as OpRecord;
}

/** Writes an indirection buffer at `base`: for each output pixel and tap, an input pixel or the zero buffer. */
export function fillIndirection(
  spec: IndirectionSpec,
  view: Uint32Array,
  base: number,
  inputAddr: number,
  zeroAddr: number,
): void {
  const g = spec.geometry;
  let o = base >>> 2;
  for (let oy = 0; oy < g.oh; oy++)
    for (let ox = 0; ox < g.ow; ox++)
      for (let ky = 0; ky < g.kh; ky++) {
        const iy = oy * g.sh - g.pt + ky;
        for (let kx = 0; kx < g.kw; kx++) {
          const ix = ox * g.sw - g.pl + kx;
          view[o++] =
            iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? inputAddr + (iy * g.w + ix) * g.cin * 4 : zeroAddr;
        }
      }
}
