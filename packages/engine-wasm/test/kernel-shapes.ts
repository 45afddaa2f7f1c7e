/**
 * The one shape table of the kernel testers: named edge cases (kernel sizes 1, 2, 3, 5, 7;
 * channel counts 1, 2, 3, 5, 7, 11, 13; strides 1 and 2; 'same' and 'valid' padding; 1x1, 1xN
 * and Nx1 maps; output channels that are not a multiple of the 8-wide tile) followed by shapes
 * drawn from a seeded mulberry32. Every family's tester walks this table; families with a
 * fixed kernel (Winograd: 3x3, stride 1, 'same') take each shape's map and channels.
 */
import { type Padding, padding1d } from "../dist/arch.js";
import { mulberry32 } from "../dist/random.js";

export interface KernelShape {
  name: string;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  padding: Padding;
}

/** A shape with its padding resolved: top/left padding and output size. */
export interface ShapeGeometry extends KernelShape {
  pt: number;
  pl: number;
  oh: number;
  ow: number;
}

const shape = (
  name: string,
  [h, w, cin, cout]: [number, number, number, number],
  [kh, kw]: [number, number],
  [sh, sw]: [number, number],
  padding: Padding,
): KernelShape => ({ name, h, w, cin, cout, kh, kw, sh, sw, padding });

export const NAMED_SHAPES: readonly KernelShape[] = [
  shape("1x1 map, k1, one channel in and out", [1, 1, 1, 1], [1, 1], [1, 1], "same"),
  shape("1x1 map, k3 same (all taps but the centre padded)", [1, 1, 3, 5], [3, 3], [1, 1], "same"),
  shape("1x1 map, k3 stride 2 same", [1, 1, 2, 9], [3, 3], [2, 2], "same"),
  shape("k1 stride 1 (plain GEMM), cout 8", [5, 7, 13, 8], [1, 1], [1, 1], "valid"),
  shape("k1 stride 2 valid (projection shortcut)", [9, 9, 8, 12], [1, 1], [2, 2], "valid"),
  shape("k2 stride 2 valid, cin 2", [6, 8, 2, 3], [2, 2], [2, 2], "valid"),
  shape("k2 stride 1 same (asymmetric padding)", [5, 5, 3, 7], [2, 2], [1, 1], "same"),
  shape("k3 same, cin 11 cout 13", [5, 6, 11, 13], [3, 3], [1, 1], "same"),
  shape("k3 valid to a 1x1 output", [3, 3, 7, 5], [3, 3], [1, 1], "valid"),
  shape("k3 stride 2 same, cout 17 (tile remainder)", [7, 8, 7, 17], [3, 3], [2, 2], "same"),
  shape("k3 valid, cin 13 cout 9", [6, 7, 13, 9], [3, 3], [1, 1], "valid"),
  shape("k5 same, cin 3", [7, 7, 3, 7], [5, 5], [1, 1], "same"),
  shape("k5 stride 2 valid, cin 5", [9, 11, 5, 11], [5, 5], [2, 2], "valid"),
  shape("k7 stride 2 same, one channel (stem)", [11, 13, 1, 11], [7, 7], [2, 2], "same"),
  shape("k7 same on a map smaller than the kernel", [4, 5, 2, 3], [7, 7], [1, 1], "same"),
  shape("1xN map, k1x3 same", [1, 17, 3, 8], [1, 3], [1, 1], "same"),
  shape("Nx1 map, k3x1 same, cout 16", [17, 1, 3, 16], [3, 1], [1, 1], "same"),
  shape("1xN map, k1x5 valid stride 2", [1, 19, 5, 7], [1, 5], [1, 2], "valid"),
  shape("Nx1 map, k3 same (taps padded sideways)", [13, 1, 2, 5], [3, 3], [1, 1], "same"),
  shape("k3x5 stride 2x1 same, cin 11", [6, 9, 11, 10], [3, 5], [2, 1], "same"),
  shape("stem 7x7/2 on 21x26", [21, 26, 1, 11], [7, 7], [2, 2], "same"),
  shape("stem 3x8 on 9x30", [9, 30, 1, 11], [3, 8], [1, 1], "same"),
  shape("stem 2x5/2 on 6x19", [6, 19, 1, 11], [2, 5], [2, 2], "same"),
  shape("stem 3x6 on 5x17", [5, 17, 1, 11], [3, 6], [1, 1], "same"),
];

export function geometry(s: KernelShape): ShapeGeometry | undefined {
  const ph = padding1d(s.padding, s.h, s.kh, s.sh);
  const pw = padding1d(s.padding, s.w, s.kw, s.sw);
  if (ph.out < 1 || pw.out < 1) return undefined;
  return { ...s, pt: ph.before, pl: pw.before, oh: ph.out, ow: pw.out };
}

/** Upper limits of the random shapes (lower limits are 1). */
export interface ShapeLimits {
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  s: number;
}

export const DEFAULT_LIMITS: ShapeLimits = { h: 11, w: 13, cin: 21, cout: 27, kh: 7, kw: 5, s: 3 };

/** `n` shapes from mulberry32(seed) within `limits`, each with a non-empty output. */
export function randomShapes(seed: number, n: number, limits: ShapeLimits = DEFAULT_LIMITS): ShapeGeometry[] {
  const rand = mulberry32(seed);
  const int = (hi: number): number => 1 + Math.floor(rand() * hi);
  const out: ShapeGeometry[] = [];
  while (out.length < n) {
    const s: KernelShape = {
      name: `random ${seed}/${out.length}`,
      h: int(limits.h),
      w: int(limits.w),
      cin: int(limits.cin),
      cout: int(limits.cout),
      kh: int(limits.kh),
      kw: int(limits.kw),
      sh: int(limits.s),
      sw: int(limits.s),
      padding: rand() < 0.5 ? "same" : "valid",
    };
    const g = geometry(s);
    if (g) out.push(g);
  }
  return out;
}

/** The named shapes (those with a non-empty output) then `n` seeded random ones. */
export function kernelShapes(seed: number, n: number, limits?: ShapeLimits): ShapeGeometry[] {
  const named = NAMED_SHAPES.map(geometry).filter((g): g is ShapeGeometry => g !== undefined);
  return [...named, ...randomShapes(seed, n, limits)];
}

/**
 * The 3x3 layers of ResNet-18 and ResNet-152 on a 128x130 crop (stages 1-3; stage 4's 4x5 map is
 * covered by the edge shapes): the F(4x4,3x3) error bound is checked where the planner uses it.
 */
export const RESNET_3X3_SHAPES: readonly KernelShape[] = [
  shape("ResNet stage 1, 32x33 64->64", [32, 33, 64, 64], [3, 3], [1, 1], "same"),
  shape("ResNet stage 2, 16x17 128->128", [16, 17, 128, 128], [3, 3], [1, 1], "same"),
  shape("ResNet stage 3, 8x9 256->256", [8, 9, 256, 256], [3, 3], [1, 1], "same"),
];

/** The table's maps and channel counts under a 3x3, stride 1, 'same' kernel (Winograd). */
export function winogradShapes(
  seed: number,
  n: number,
  limits?: ShapeLimits,
  extra: readonly KernelShape[] = [],
): ShapeGeometry[] {
  return [...kernelShapes(seed, n, limits), ...extra].map(
    (s) => geometry({ ...s, kh: 3, kw: 3, sh: 1, sw: 1, padding: "same" }) as ShapeGeometry,
  );
}

/** The shape's description for failure messages. */
export function describeShape(s: ShapeGeometry): string {
  return `"${s.name}" ${s.h}x${s.w}x${s.cin}->${s.cout} k${s.kh}x${s.kw} s${s.sh}x${s.sw} ${s.padding}`;
}
