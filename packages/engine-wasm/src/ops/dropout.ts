/** dropout: the identity at inference; its output aliases its input. */
import { type Lowering, need } from "./lowering.js";
import type { LayerOf, OpDef } from "./op.js";

function lowerDropout(s: Lowering, l: LayerOf<"dropout">): void {
  s.shapes.set(l.name, need(s, l.input));
  s.dropoutOf.set(l.name, l.input);
  s.dtypes.set(l.name, s.dtypes.get(l.input)!);
  if (s.quant.has(l.input)) s.quant.set(l.name, s.quant.get(l.input)!);
  if (s.qpKey.has(l.input)) s.qpKey.set(l.name, s.qpKey.get(l.input)!);
  s.nodes.push({ inputs: [l.input], output: l.name, op: null });
}

export const dropout: OpDef<"dropout"> = {
  validate(c) {
    const rate = c.fields.rate;
    if (typeof rate !== "number" || !(rate >= 0 && rate < 1))
      c.bad(`${c.where}: rate must be a number in [0, 1), got ${JSON.stringify(rate)}`);
  },
  outputShape: (_l, [x]) => x!,
  lower: lowerDropout,
  reference: (_l, [x]) => x!,
};
