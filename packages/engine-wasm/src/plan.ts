/**
 * Compiles a graph into a static execution plan: shapes, a memory map of the shared wasm
 * memory (packed weights, indirection buffers, one activation arena reused by liveness), and
 * one kernel call record per op. Four pure passes, each in its own module under plan/:
 * lowering (layers -> calls with symbolic addresses), liveness, placement in the arena, and
 * the memory map that resolves the addresses.
 */
import type { EamGraph } from "./format.js";
import { liveness, rootOf } from "./plan/liveness.js";
import { lowerGraph } from "./plan/lower.js";
import { addressResolver, fillIndirection, memoryMap, resolveOp } from "./plan/memory-map.js";
import { largestOpBytes, peakLiveBytes, placeTensors } from "./plan/placement.js";
import type { IndirectionBuffer, OpRecord, Plan, PlanOptions, TensorPlacement } from "./plan/types.js";

export { qwinoForm } from "./plan/lower.js";
export * from "./plan/types.js";

/** Barrier after op i unless it and the next op both run on one thread only. */
function barriers(ops: readonly OpRecord[]): boolean[] {
  return ops.map((op, i) => {
    const next = ops[i + 1];
    if (!next) return !op.single;
    return !(op.single && next.single);
  });
}

export function buildPlan(graph: EamGraph, opts: PlanOptions): Plan {
  const lowered = lowerGraph(graph, opts);
  const live = liveness(lowered, { input: graph.input, output: graph.output, keep: opts.keep ?? [] });
  const root = (n: string) => rootOf(live.alias, n);
  const lifetimes = [...live.tensors.values()];
  const arena = placeTensors(lifetimes);
  const map = memoryMap(graph, lowered, {
    heapBase: opts.heapBase,
    threads: opts.threads ?? 1,
    arenaBytes: arena.arenaBytes,
  });
  const tensors = new Map<string, TensorPlacement>();
  for (const t of lifetimes) tensors.set(t.name, { ...t, addr: map.arenaAddr + arena.offsets.get(t.name)! });
  const addr = (n: string): number => tensors.get(root(n))!.addr;
  const resolve = addressResolver(map, lowered, addr);
  const calls = lowered.nodes.filter((nd) => nd.op !== null);
  const ops = calls.map((nd) => resolveOp(nd.op!, resolve));
  const indirection: IndirectionBuffer[] = lowered.indirection.map((spec, i) => ({
    addr: map.indirectionAddr[i]!,
    build: (view: Uint32Array) =>
      fillIndirection(spec, view, map.indirectionAddr[i]!, addr(spec.input), map.zeroAddr),
  }));
  // Aliased names resolve to their root placement.
  for (const [n, r] of live.alias) {
    if (!tensors.has(n)) {
      const t = tensors.get(root(r))!;
      tensors.set(n, { ...t, name: n, shape: lowered.shapes.get(n)!, aliasOf: t.name });
    }
  }
  const opTensors = calls.map((nd) =>
    [...new Set([...nd.inputs, nd.output].map(root))].map((n) => live.tensors.get(n)!),
  );
  return {
    ops,
    barrierAfter: barriers(ops),
    weights: lowered.weights.map((w, i) => ({ ...w, dst: map.weightDst[i]! })),
    tensors,
    indirection,
    input: tensors.get(graph.input)!,
    output: tensors.get(graph.output)!,
    controlAddr: map.controlAddr,
    zeroAddr: map.zeroAddr,
    zeroBytes: map.zeroBytes,
    arenaAddr: map.arenaAddr,
    arenaBytes: arena.arenaBytes,
    peakLiveBytes: peakLiveBytes(lifetimes, live.ops),
    largestOpBytes: largestOpBytes(opTensors),
    indirectionBytes: map.indirectionBytes,
    weightsAddr: map.weightsAddr,
    weightsBytes: map.weightsBytes,
    scratchAddr: map.arenaAddr,
    scratchBytes: map.loadScratchBytes,
    totalBytes: map.totalBytes,
    paramBlocks: [...lowered.blocks].map(([key, b]) => ({
      addr: map.blockAddr.get(key)!,
      scale: b.scale,
      zeroPoint: b.zeroPoint,
      out: b.out,
    })),
    pads: [...lowered.pads].map(([key, p]) => ({
      addr: map.blockAddr.get(key)!,
      bytes: p.bytes,
      value: p.value,
    })),
    precision: lowered.precision,
    macs: lowered.macs,
    params: lowered.params,
    tile: opts.tile,
  };
}
