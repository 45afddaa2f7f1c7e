/**
 * 7-bit inputs (`quant.inputBits`, docs/format.md): int8 layers whose input is a ReLU output
 * quantized to [0, 127] with zero point 0. Such an input meets the second-operand condition of
 * i32x4.relaxed_dot_i8x16_i7x16_add_s, so the layer may run on the relaxed-SIMD GEMM; the
 * values are ordinary int8 values, so the 16-bit path runs the same file to the same bits.
 */
import type { EamGraph } from "./format.js";
import type { Precision } from "./plan/types.js";

/**
 * Tensors of a graph that are >= 0 by construction: outputs of a conv or add with ReLU, and of
 * a max pool, dropout or global average pool of such a tensor (the graph input is not).
 */
export function nonNegativeTensors(g: EamGraph): Set<string> {
  const out = new Set<string>();
  for (const l of g.layers) {
    const yes =
      l.op === "conv" || l.op === "add"
        ? l.relu
        : l.op === "maxpool" || l.op === "dropout" || l.op === "gap"
          ? out.has(l.input)
          : false;
    if (yes) out.add(l.name);
  }
  return out;
}

/** The tensor whose activation parameters a tensor uses: dropout outputs share their input's. */
export function activationRoot(g: EamGraph, name: string): string {
  const byName = new Map(g.layers.map((l) => [l.name, l]));
  let n = name;
  for (let l = byName.get(n); l?.op === "dropout"; l = byName.get(n)) n = l.input;
  return n;
}

/** Conv and dense layers that can take 7-bit input: their input is non-negative by construction. */
export function sevenBitCandidates(g: EamGraph): string[] {
  const nonNeg = nonNegativeTensors(g);
  return g.layers
    .filter((l) => (l.op === "conv" || l.op === "dense") && nonNeg.has(l.input))
    .map((l) => l.name);
}

/**
 * Parses and checks `quant.inputBits` (`{ "<layer>": 7 | 8 }`): every key a conv or dense layer
 * of the graph in int8 or int4 precision; 7 only where the input is non-negative by construction
 * (the planner then requires zero point 0 of the int8 input it reads, so that every input byte
 * is in [0, 127]). Throws a message naming the layer otherwise.
 */
export function parseInputBits(
  meta: unknown,
  g: EamGraph,
  precision: ReadonlyMap<string, Precision>,
): Map<string, 7 | 8> {
  const bits = new Map<string, 7 | 8>();
  if (meta === undefined) return bits;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta))
    throw new Error('model: quant.inputBits must be a JSON object { "<layer>": 7 | 8 }');
  const layers = new Map(g.layers.map((l) => [l.name, l]));
  const nonNeg = nonNegativeTensors(g);
  for (const [name, v] of Object.entries(meta as Record<string, unknown>)) {
    const at = `model: quant.inputBits.${name}`;
    if (v !== 7 && v !== 8) throw new Error(`${at} is ${JSON.stringify(v)}; expected 7 or 8`);
    const l = layers.get(name);
    if (!l || (l.op !== "conv" && l.op !== "dense"))
      throw new Error(`${at}: the graph has no conv or dense layer of that name`);
    const p = precision.get(name);
    if (p !== "int8" && p !== "int4")
      throw new Error(`${at}: the layer runs in ${p ?? "f32"}; input bits apply to int8 and int4 layers`);
    if (v === 7 && !nonNeg.has(l.input))
      throw new Error(
        `${at} is 7, but the layer's input ${l.input} is not a ReLU output and can be negative; 7-bit input needs values in [0, 127]`,
      );
    bits.set(name, v);
  }
  return bits;
}
