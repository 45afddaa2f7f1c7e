/**
 * Liveness: which tensors need memory of their own, and from which op to which op each is
 * alive. Dropout outputs (and fused adds) alias their input; an f32 add writes in place into
 * its first input when that input dies there. Op index = index among the kernel calls; the graph
 * input is defined at -1, and the output and kept tensors live to the end (op count).
 */
import { DTYPE_BYTES } from "../format.js";
import type { LoweredGraph, TensorPlacement } from "./types.js";

export interface Liveness {
  /** Tensors with memory of their own (address 0 until placed), in definition order. */
  tensors: Map<string, TensorPlacement>;
  /** Tensor -> the tensor whose memory it uses (follow with `rootOf`). */
  alias: Map<string, string>;
  /** Kernel calls. */
  ops: number;
}

/** The tensor whose memory `name` uses. */
export function rootOf(alias: ReadonlyMap<string, string>, name: string): string {
  let r = name;
  while (alias.has(r)) r = alias.get(r)!;
  return r;
}

function placementOf(g: LoweredGraph, name: string, def: number): TensorPlacement {
  const shape = g.shapes.get(name)!;
  const dtype = g.dtypes.get(name) ?? "f32";
  return {
    name,
    shape,
    bytes: shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype],
    addr: 0,
    def,
    lastUse: def,
    dtype,
    quant: g.quant.get(name),
  };
}

export function liveness(
  g: LoweredGraph,
  io: { input: string; output: string; keep: readonly string[] },
): Liveness {
  const keep = new Set(io.keep);
  for (const k of keep) if (!g.shapes.has(k)) throw new RangeError(`keep: no tensor named ${k}`);
  if (g.dtypes.get(io.output) !== "f32") throw new Error(`graph output ${io.output} must be f32`);
  const alias = new Map<string, string>();
  const root = (n: string) => rootOf(alias, n);
  const tensors = new Map<string, TensorPlacement>();
  tensors.set(io.input, { ...placementOf(g, io.input, -1), quant: undefined, dtype: "f32" });
  const opOfNode: number[] = [];
  let op = 0;
  for (const [i, nd] of g.nodes.entries()) {
    if (!nd.op) {
      alias.set(nd.output, nd.inputs[0]!);
      opOfNode.push(-1);
      continue;
    }
    for (const input of nd.inputs) {
      const t = tensors.get(root(input))!;
      t.lastUse = Math.max(t.lastUse, op);
    }
    if (nd.op.kind === "add" && addsInPlace(g, i, root, io.input, keep)) {
      alias.set(nd.output, root(nd.inputs[0]!));
      tensors.get(root(nd.inputs[0]!))!.lastUse = op;
    } else tensors.set(nd.output, placementOf(g, nd.output, op));
    opOfNode.push(op++);
  }
  // Uses after the in-place extension (a later reader of an aliased name).
  for (const [i, nd] of g.nodes.entries()) {
    if (!nd.op) continue;
    for (const input of nd.inputs) {
      const t = tensors.get(root(input))!;
      t.lastUse = Math.max(t.lastUse, opOfNode[i]!);
    }
  }
  tensors.get(root(io.output))!.lastUse = op;
  for (const k of keep) tensors.get(root(k))!.lastUse = op;
  return { tensors, alias, ops: op };
}

/** An f32 add (node i) can write into its first input when nothing reads that input later. */
function addsInPlace(
  g: LoweredGraph,
  i: number,
  root: (n: string) => string,
  input: string,
  keep: ReadonlySet<string>,
): boolean {
  const nd = g.nodes[i]!;
  const ra = root(nd.inputs[0]!);
  const aliveLater = g.nodes.slice(i + 1).some((x) => x.inputs.some((n) => root(n) === ra));
  return ra !== root(input) && !keep.has(ra) && !aliveLater && ra !== root(nd.inputs[1]!);
}
