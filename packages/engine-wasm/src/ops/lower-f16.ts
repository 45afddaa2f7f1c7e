/** f16 weights: an indirect GEMM on f32 activations, weights widened per cache block into per-thread scratch. */
import { align, type OpTemplate } from "../plan/types.js";
import {
  addIndirection,
  asF32,
  emit,
  type Lowering,
  type LowLayer,
  setOutput,
  tensor,
  weightAt,
} from "./lowering.js";

export function lowerF16(s: Lowering, layer: LowLayer, wi: number): void {
  const { name, g, cout, single } = layer;
  const ks = g.kh * g.kw;
  const K = ks * g.cin;
  const x = asF32(s, layer.input);
  s.weights[wi]!.packedBytes = Math.ceil(cout / 8) * (32 + K * 16);
  const panel32 = (K + 1) * 32;
  const blockPanels = Math.min(Math.ceil(cout / 8), Math.max(1, Math.floor(131072 / panel32)));
  s.scratchStride.f16 = Math.max(s.scratchStride.f16, align(blockPanels * panel32));
  const ind = addIndirection(s, x, g);
  setOutput(s, name, single ? [cout] : [g.oh, g.ow, cout]);
  const op: OpTemplate = {
    kind: "f16igemm",
    layer: name,
    M: g.oh * g.ow,
    N: cout,
    K: g.cin,
    ks,
    ind,
    w: weightAt(wi),
    c: tensor(name),
    cs: cout * 4,
    relu: layer.relu,
    scratch: { scratch: "f16" },
    scratchStride: { scratchStride: "f16" },
    single,
  };
  emit(s, op, [x], name);
}
