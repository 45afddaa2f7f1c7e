/** f32 convolution: direct (GEMM, indirect GEMM) or Winograd F(2x2,3x3). */
import type { ConvGeometry, OpTemplate } from "../plan/types.js";
import { align } from "../plan/types.js";
import {
  addIndirection,
  addWeights,
  asF32,
  emit,
  isWinograd3x3,
  type Lowering,
  setOutput,
  tensor,
  weightAt,
} from "./lowering.js";
import type { LayerOf } from "./op.js";

export function lowerConvF32(s: Lowering, l: LayerOf<"conv">, g: ConvGeometry): void {
  const input = asF32(s, l.input);
  const cout = l.filters;
  const name = l.name;
  setOutput(s, name, [g.oh, g.ow, cout]);
  const K = g.kh * g.kw * g.cin;
  const wi = addWeights(s, {
    layer: name,
    weightShape: [g.kh, g.kw, g.cin, cout],
    biasShape: [cout],
    k: K,
    n: cout,
    packedBytes: Math.ceil(cout / 8) * (K + 1) * 32,
    dtype: "f32",
    kc: g.cin,
    ks: g.kh * g.kw,
  });
  s.macs += g.oh * g.ow * cout * K;
  s.params += K * cout + cout;
  const relu = l.relu ? 1 : 0;
  if ((s.opts.winograd ?? true) && isWinograd3x3(g)) {
    lowerWinogradF32(s, name, input, g, cout, relu, wi);
    return;
  }
  const M = g.oh * g.ow;
  const common = { layer: name, M, N: cout, K: g.cin, w: weightAt(wi), c: tensor(name), cs: cout * 4 };
  const op: OpTemplate =
    g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1
      ? { kind: "gemm", ...common, a: tensor(input), as: g.cin * 4, relu, single: false }
      : {
          kind: "igemm",
          ...common,
          ks: g.kh * g.kw,
          ind: addIndirection(s, input, g),
          relu,
          single: false,
        };
  emit(s, op, [input], name);
}

/** f32 Winograd F(2x2,3x3): input transform, 16 GEMMs, output transform. */
function lowerWinogradF32(
  s: Lowering,
  name: string,
  input: string,
  g: ConvGeometry,
  cout: number,
  relu: number,
  wi: number,
): void {
  const { cin, oh, ow } = g;
  const tw = Math.ceil(ow / 2);
  const T = Math.ceil(oh / 2) * tw;
  const panelBytes = Math.ceil(cout / 8) * (cin + 1) * 32;
  const wl = s.weights[wi]!;
  wl.packedBytes = 16 * panelBytes + align(cout * 4);
  wl.winograd = { cin, cout, panelBytes, biasOffset: 16 * panelBytes };
  const vName = `${name}#winograd.V`;
  const mName = `${name}#winograd.M`;
  s.shapes.set(vName, [16, T, cin]);
  s.shapes.set(mName, [16, T, cout]);
  const vstride = T * cin * 4;
  const mstride = T * cout * 4;
  emit(
    s,
    {
      kind: "wino_in",
      layer: name,
      ih: g.h,
      iw: g.w,
      c: cin,
      tw,
      tiles: T,
      x: tensor(input),
      v: tensor(vName),
      vstride,
      single: false,
    },
    [input],
    vName,
  );
  emit(
    s,
    {
      kind: "bgemm",
      layer: name,
      batch: 16,
      M: T,
      N: cout,
      K: cin,
      a: tensor(vName),
      as: cin * 4,
      astride: vstride,
      w: weightAt(wi),
      wstride: panelBytes,
      c: tensor(mName),
      cs: cout * 4,
      cstride: mstride,
      single: false,
    },
    [vName],
    mName,
  );
  emit(
    s,
    {
      kind: "wino_out",
      layer: name,
      oh,
      ow,
      c: cout,
      tw,
      tiles: T,
      m: tensor(mName),
      mstride,
      bias: weightAt(wi, 16 * panelBytes),
      y: tensor(name),
      relu,
      single: false,
    },
    [mName],
    name,
  );
}
