/** conv and dense layers with f16, dynamic or int8 weights: the weight load, then the f16 or qs8 lowering. */
import { lowerF16 } from "./lower-f16.js";
import { lowerQs8 } from "./lower-qs8.js";
import { addWeights, type Lowering, type LowLayer } from "./lowering.js";

export /**
 * A conv or dense layer in f16, dynamic or int8 precision (all through indirection buffers;
 * a 1x1 convolution or the dense layer has one tap per output pixel).
 */
function lowerLowPrecision(
  s: Lowering,
  layer: LowLayer,
  p: "f16" | "dynamic" | "int8" | "int4",
  weightShape: number[],
): void {
  const { name, g, cout } = layer;
  const ks = g.kh * g.kw;
  const K = ks * g.cin;
  const wi = addWeights(s, {
    layer: name,
    weightShape: p === "int4" ? [...weightShape.slice(0, -1), Math.ceil(cout / 2)] : weightShape,
    biasShape: [cout],
    k: K,
    n: cout,
    packedBytes: 0,
    dtype: p === "f16" ? "f16" : p === "int4" ? "i4" : "i8",
    kc: g.cin,
    ks,
  });
  s.macs += g.oh * g.ow * cout * K;
  s.params += K * cout + cout;
  if (p === "f16") lowerF16(s, layer, wi);
  else lowerQs8(s, layer, p === "dynamic", wi);
}
