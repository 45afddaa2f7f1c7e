/** f32 convolution: direct (GEMM, indirect GEMM) or Winograd F(2x2,3x3) / F(4x4,3x3). */
import type { ConvGeometry, OpTemplate, WinogradTile, WinogradTileChoice } from "../plan/types.js";
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

/**
 * The f32 Winograd tile when the load options name none: F(2x2,3x3) everywhere, so that FP32
 * files keep giving the probabilities they were written with and the memory they needed.
 * F(4x4,3x3) is chosen with `f32WinogradTile: "auto"` (per layer) or `"4x4"`: end to end on
 * ResNet-152 it saved less than the run-to-run spread and cost 11 MiB (README, "Measured figures").
 */
export const DEFAULT_F32_WINOGRAD_TILE: WinogradTileChoice = "2x2";

/**
 * The output tile of an f32 Winograd layer with an oh x ow output: F(4x4,3x3) where it has at
 * least WINO4_MIN_TILES tiles and needs at most WINO4_MAX_WORK of F(2x2)'s multiplies (36 per
 * 4x4 tile against 16 per 2x2 tile, tiles cut at the map's edge counted whole), else F(2x2,3x3).
 * Measured on ResNet-152's 3x3 layers (README, "Measured figures"): F(4x4) took 0.56-0.65 of
 * F(2x2)'s time at work ratios 0.60-0.68 (maps 32x33, 16x17, 8x9; 72, 20 and 6 tiles).
 */
export function winogradTileFor(oh: number, ow: number, choice: WinogradTileChoice = "auto"): WinogradTile {
  if (choice !== "auto") return choice === "4x4" ? 4 : 2;
  const t4 = Math.ceil(oh / 4) * Math.ceil(ow / 4);
  const t2 = Math.ceil(oh / 2) * Math.ceil(ow / 2);
  return t4 >= WINO4_MIN_TILES && 36 * t4 <= WINO4_MAX_WORK * 16 * t2 ? 4 : 2;
}

/**
 * Fewest 4x4 tiles for F(4x4,3x3): each transformed weight is used once per tile, and with 36/9
 * the weight bytes a layer with few tiles streams its weights from memory. ResNet-152's 8x9
 * layers (6 tiles, 9.4 MB of F(4x4) weights each) ran faster alone but made the whole network
 * slower; its 16x17 layers (20 tiles) gain.
 */
export const WINO4_MIN_TILES = 16;
/** Largest ratio of F(4x4,3x3)'s multiplies to F(2x2,3x3)'s at which F(4x4) is chosen. */
export const WINO4_MAX_WORK = 0.8;

/** f32 Winograd F(n x n,3x3), n = 2 or 4: input transform, (n + 2)^2 GEMMs, output transform. */
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
  const outTile = winogradTileFor(oh, ow, s.opts.f32WinogradTile ?? DEFAULT_F32_WINOGRAD_TILE);
  const E = (outTile + 2) ** 2;
  const tw = Math.ceil(ow / outTile);
  const T = Math.ceil(oh / outTile) * tw;
  const panelBytes = Math.ceil(cout / 8) * (cin + 1) * 32;
  const wl = s.weights[wi]!;
  wl.packedBytes = E * panelBytes + align(cout * 4);
  wl.winograd = { cin, cout, panelBytes, biasOffset: E * panelBytes, outTile };
  const vName = `${name}#winograd.V`;
  const mName = `${name}#winograd.M`;
  s.shapes.set(vName, [E, T, cin]);
  s.shapes.set(mName, [E, T, cout]);
  const vstride = T * cin * 4;
  const mstride = T * cout * 4;
  emit(
    s,
    {
      kind: "wino_in",
      outTile,
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
      batch: E,
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
      outTile,
      layer: name,
      oh,
      ow,
      c: cout,
      tw,
      tiles: T,
      m: tensor(mName),
      mstride,
      bias: weightAt(wi, E * panelBytes),
      y: tensor(name),
      relu,
      single: false,
    },
    [mName],
    name,
  );
}
