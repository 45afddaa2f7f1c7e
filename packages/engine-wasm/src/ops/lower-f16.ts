/**
 * f16 weights, f32 activations: an indirect GEMM, weights widened per cache block into
 * per-thread scratch, or for 3x3 stride-1 "same" layers Winograd F(2x2,3x3), weights
 * transformed per block of panels into per-thread scratch (no transformed copy is kept).
 */
import { align, type OpTemplate } from "../plan/types.js";
import {
  addIndirection,
  asF32,
  emit,
  isWinograd3x3,
  type Lowering,
  type LowLayer,
  setOutput,
  tensor,
  weightAt,
} from "./lowering.js";

/** Bytes of the packed f16 panels of a layer with K rows and cout columns (f16_pack_weights). */
const f16PanelBytes = (K: number, cout: number): number => Math.ceil(cout / 8) * (32 + K * 16);

export function lowerF16(s: Lowering, layer: LowLayer, wi: number): void {
  const { name, g, cout, single } = layer;
  const ks = g.kh * g.kw;
  const K = ks * g.cin;
  const x = asF32(s, layer.input);
  s.weights[wi]!.packedBytes = f16PanelBytes(K, cout);
  setOutput(s, name, single ? [cout] : [g.oh, g.ow, cout]);
  if (!single && (s.opts.winograd ?? true) && (s.opts.f16Winograd ?? true) && isWinograd3x3(g)) {
    lowerWinogradF16(s, layer, x, wi);
    return;
  }
  const panel32 = (K + 1) * 32;
  const blockPanels = Math.min(Math.ceil(cout / 8), Math.max(1, Math.floor(131072 / panel32)));
  s.scratchStride.f16 = Math.max(s.scratchStride.f16, align(blockPanels * panel32));
  const ind = addIndirection(s, x, g);
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

/**
 * f16 Winograd F(2x2,3x3): the f32 input transform into V, the 16 GEMMs with the weights
 * transformed per block of panels, the f32 output transform (+ bias, ReLU) from M.
 */
function lowerWinogradF16(s: Lowering, layer: LowLayer, x: string, wi: number): void {
  const { name, g, cout } = layer;
  const { cin, oh, ow } = g;
  const tw = Math.ceil(ow / 2);
  const T = Math.ceil(oh / 2) * tw;
  const wl = s.weights[wi]!;
  const panelBytes = wl.packedBytes;
  const biasOffset = align(panelBytes);
  wl.packedBytes = biasOffset + cout * 4;
  wl.winograd = { cin, cout, panelBytes, biasOffset, outTile: 2 };
  s.scratchStride.f16 = Math.max(s.scratchStride.f16, align(s.opts.kernel.f16_wino_scratch_bytes(cin, cout)));
  const vName = `${name}#winograd.V`;
  const mName = `${name}#winograd.M`;
  s.shapes.set(vName, [16, T, cin]);
  s.shapes.set(mName, [16, T, cout]);
  const vstride = T * cin * 4;
  const mstride = T * cout * 4;
  const common = { layer: name, tw, tiles: T, single: false, outTile: 2 } as const;
  emit(
    s,
    { kind: "wino_in", ...common, ih: g.h, iw: g.w, c: cin, x: tensor(x), v: tensor(vName), vstride },
    [x],
    vName,
  );
  emit(
    s,
    {
      kind: "f16wino_gemm",
      layer: name,
      M: T,
      N: cout,
      K: cin,
      v: tensor(vName),
      vstride,
      w: weightAt(wi),
      m: tensor(mName),
      mstride,
      scratch: { scratch: "f16" },
      scratchStride: { scratchStride: "f16" },
      single: false,
    },
    [vName],
    mName,
  );
  emit(
    s,
    {
      kind: "wino_out",
      ...common,
      oh,
      ow,
      c: cout,
      m: tensor(mName),
      mstride,
      bias: weightAt(wi, biasOffset),
      y: tensor(name),
      relu: layer.relu,
    },
    [mName],
    name,
  );
}
