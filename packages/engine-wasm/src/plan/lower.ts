/**
 * Lowering: graph layers -> kernel calls with symbolic addresses, per layer precision (f32, f16,
 * dynamic, int8), through the op registry (src/ops), with the tensors they read and write, the
 * weights to load, the quantization parameter blocks, the indirection buffers and the per-thread
 * scratch they need. Pure: it reads the graph and options, and returns a new LoweredGraph.
 */
import type { LayerSpec } from "../arch.js";
import type { EamGraph } from "../format.js";
import { isKnownOp, opDef } from "../ops/index.js";
import { type Lowering, need } from "../ops/lowering.js";
import type { LoweredGraph, PlanOptions } from "./types.js";

export { qwinoForm } from "../ops/lower-qs8.js";

/** Every dimension of a layer's output must be a positive integer (no empty or negative shape runs). */
function checkOutputShape(l: LayerSpec, shapes: Map<string, number[]>): void {
  const out = shapes.get(l.name)!;
  if (out.every((d) => Number.isInteger(d) && d >= 1)) return;
  const input = l.op === "add" ? l.inputs[0] : l.input;
  throw new Error(`${l.op} ${l.name}: empty output shape [${out}] from input [${shapes.get(input)}]`);
}

/** Readers of every tensor: layer inputs, the graph output and the kept tensors. */
function countUses(graph: EamGraph, keep: readonly string[]): Map<string, number> {
  const uses = new Map<string, number>();
  const use = (n: string) => uses.set(n, (uses.get(n) ?? 0) + 1);
  for (const l of graph.layers) {
    if (l.op === "add") for (const i of l.inputs) use(i);
    else use(l.input);
  }
  use(graph.output);
  for (const k of keep) use(k);
  return uses;
}

/** Lowers every layer of the graph, in order. */
export function lowerGraph(graph: EamGraph, opts: PlanOptions): LoweredGraph {
  const s: Lowering = {
    nodes: [],
    shapes: new Map([[graph.input, graph.inputShape]]),
    dtypes: new Map([[graph.input, "f32"]]),
    quant: new Map(),
    weights: [],
    blocks: new Map(),
    pads: new Map(),
    indirection: [],
    scratchStride: { f16: 0, qwino: 0 },
    precision: new Map(),
    macs: 0,
    params: 0,
    opts,
    qpKey: new Map(),
    dropoutOf: new Map(),
    uses: countUses(graph, opts.keep ?? []),
    fusable: new Map(),
  };
  for (const l of graph.layers) {
    if (!isKnownOp(l.op)) throw new Error(`unsupported op ${(l as { op: string }).op}`);
    opDef(l.op).lower(s, l, s.opts.precision?.get(l.name) ?? "f32");
    checkOutputShape(l, s.shapes);
  }
  need(s, graph.output);
  const { opts: _o, qpKey: _q, dropoutOf: _d, uses: _u, fusable: _f, ...lowered } = s;
  return lowered;
}
