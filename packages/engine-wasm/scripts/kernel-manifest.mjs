// The kernel manifest: every export of the kernel modules (build/engine-simd.wasm,
// build/engine-scalar.wasm) with its family, data type, tile, ISA, arguments and, for the
// kernels a plan calls, the memory each argument reaches. It drives:
//   scripts/gen-gemm.mjs     the f32 GEMM / IGEMM micro-kernels and their drivers (tiles, names)
//   scripts/gen-kernels.mjs  src/gen/kernels.ts (KernelExports, the plan-kernel ids) and
//                            assembly/gen/wasi-kernels.ts (the WASI module's call table and the
//                            bounds checks of every call of a plan file)
// and the tests that compare it with the built modules' exports and the kernel testers.
//
// Arguments: "name" is an i32, "*name" a byte address (usize), "name:f32" an f32.
// Plan kernels (`plan: true`) may appear in a plan's call records (WASI kernel id = their index
// among the plan kernels, in this order; append new ones at the end). For them:
//   requires  conditions on the arguments without which the kernel would trap or loop;
//   buffers   the memory each address argument reaches: [arg, kind, from, to, when?, at?], byte
//             offsets [from, to) from the argument's value (or from `at`), checked when `when`
//             holds. kind: "r" read, "w" written, "p" a parameter block read (QP_FIELD_BYTES),
//             "t" a table of byte addresses (ind), each reaching `to` bytes.
// Expressions are JavaScript/AssemblyScript over the arguments (as f64) with cdiv(a, b)
// (ceil(a / b)), div(a, b) (floor), the layout sizes below (qs8_panel_bytes, ...),
// out_bytes(qp) (bytes per output element of a qs8 GEMM: 4 for f32, 1 for int8 output, read
// from its parameter block) and wrap(x) (x modulo 2^32).
import { PARAM_BLOCK } from "./gen-layout.mjs";

/** Output tiles MR of the f32 MRx8 GEMM / IGEMM micro-kernels, in both ISAs. */
export const F32_GEMM_TILES = [1, 2, 3, 4, 5, 6, 7];
/** Columns NR of every GEMM tile (panels of 8 output channels). */
export const NR = 8;
export const ISAS = ["wasmsimd", "scalar"];

/** Bytes of a parameter block a kernel reads (its fields; the host reserves QP_BLOCK_BYTES). */
export const QP_FIELD_BYTES = Math.max(...PARAM_BLOCK.map(([, off]) => off + 4));

const GEOMETRY = ["ih", "iw", "c", "ow", "kh", "kw", "sh", "sw", "pt", "pl"];
const small = (names) => names.map((n) => `${n} >= 0 && ${n} <= 65535`);
const gemmRange = ["m0 >= 0 && m0 <= m1", "n0 >= 0 && n0 <= n1 && n0 % 8 == 0"];
const nonEmpty = "m0 < m1 && n0 < n1";
/** Output rows [m0, m1), columns [n0, n1) of `bytes` each, row stride cs. */
const gemmOut = (bytes) => ["*c", "w", `m0 * cs + n0 * ${bytes}`, `(m1 - 1) * cs + n1 * ${bytes}`, nonEmpty];
const panels = (panel) => [`div(n0, 8) * ${panel}`, `cdiv(n1, 8) * ${panel}`];

/** A max-pool kernel over NHWC elements of `bytes` bytes, output pixels [p0, p1). */
function maxpool(name, ukernel, dtype, bytes) {
  const e = bytes === 1 ? "" : ` * ${bytes}`;
  return {
    name,
    family: "maxpool",
    ukernel,
    dtype,
    args: ["ih", "iw", "c", "ow", "kh", "kw", "sh", "sw", "pt", "pl", "*x", "*y", "p0", "p1"],
    requires: [...small(GEOMETRY), "ow >= 1", "p0 >= 0 && p0 <= p1"],
    buffers: [
      ["*x", "r", "0", `ih * iw * c${e}`, "p0 < p1"],
      ["*y", "w", `p0 * c${e}`, `p1 * c${e}`, "p0 < p1"],
    ],
  };
}

/** f32 Winograd F(n x n,3x3) input transform: (n + 2)^2 matrices V[e] at v + e * vstride. */
function winoInput(name, n) {
  const patch = `${n + 2}x${n + 2}`;
  return {
    name,
    family: "f32-wino",
    ukernel: `f32-wino-input-${patch}`,
    dtype: "f32",
    tile: patch,
    args: ["ih", "iw", "c", "tw", "*x", "*v", "*vstride", "t0", "t1"],
    requires: [...small(["ih", "iw", "c"]), "tw >= 1", "t0 >= 0 && t0 <= t1"],
    buffers: [
      ["*x", "r", "0", "ih * iw * c * 4", "t0 < t1"],
      ["*v", "w", "t0 * c * 4", `${(n + 2) ** 2 - 1} * vstride + t1 * c * 4`, "t0 < t1"],
    ],
  };
}

/** f32 Winograd F(n x n,3x3) output transform of tiles [t0, t1) into an oh x ow map. */
function winoOutput(name, n) {
  return {
    name,
    family: "f32-wino",
    ukernel: `f32-wino-output-${n}x${n}`,
    dtype: "f32",
    tile: `${n}x${n}`,
    args: ["oh", "ow", "c", "tw", "*m", "*mstride", "*bias", "*y", "relu", "t0", "t1"],
    requires: [
      ...small(["oh", "ow", "c"]),
      `tw >= 1 && tw <= cdiv(ow, ${n})`,
      `t0 >= 0 && t0 <= t1 && t1 <= tw * cdiv(oh, ${n})`,
    ],
    buffers: [
      ["*m", "r", "t0 * c * 4", `${(n + 2) ** 2 - 1} * mstride + t1 * c * 4`, "t0 < t1"],
      ["*bias", "r", "0", "c * 4", "t0 < t1"],
      ["*y", "w", "0", "oh * ow * c * 4", "t0 < t1"],
    ],
  };
}

/** Layout sizes the host asks the kernels for (exports), with the formula the kernel computes. */
export const LAYOUT = [
  {
    name: "qs8_panel_bytes",
    args: ["kc", "ks"],
    bytes: "64 + ks * cdiv(kc, 2) * 16",
    doc: "bytes of one packed qs8 panel (8 scales, 8 biases, ks taps of kc channel pairs x 8 columns)",
  },
  {
    name: "qs8_k16",
    args: ["kc", "ks"],
    bytes: "ks * cdiv(kc, 2) * 2",
    doc: "elements of one im2col16 row (ks taps of kc channels rounded up to even)",
  },
  {
    name: "f16_wino_scratch_bytes",
    args: ["cin", "n"],
    bytes: "16 * min(cdiv(n, 8), max(1, div(16384, (cin + 1) * 32))) * (cin + 1) * 32",
    doc: "per-thread scratch of f32_f16w_wino_gemm_run for n output channels (16 matrices of a block of panels)",
  },
  {
    name: "qs8_wino_scratch_bytes",
    args: ["cin", "tiles", "cols"],
    bytes: "(cols == 3 ? 5 : 16) * wino_ustride(cdiv(cin, 2)) + (cols == 3 ? 20 : 16) * wino_mstride(tiles)",
    doc: "per-thread scratch of qs8_wino_gemm_run for `tiles` tiles",
  },
];

/** Helper sizes used by LAYOUT formulas (not exports; the kernels' inline functions). */
export const LAYOUT_HELPERS = {
  wino_ustride: ["kp", "(kp * 32) % 512 != 0 ? kp * 32 : kp * 32 + 64"],
  wino_mstride: ["tiles", "(tiles * 32) % 512 != 0 ? tiles * 32 : tiles * 32 + 64"],
};

/** The generated f32 micro-kernels: one per tile, ISA and family, called by their drivers. */
function f32TileKernels() {
  const out = [];
  for (const family of ["f32-gemm", "f32-igemm"])
    for (const isa of ISAS)
      for (const mr of F32_GEMM_TILES)
        out.push({
          name: `${family.replace("-", "_")}_${mr}x${NR}__${isa}`,
          family,
          ukernel: `${family}-${mr}x${NR}-${isa}`,
          dtype: "f32",
          tile: `${mr}x${NR}`,
          isa: [isa],
          generated: true,
          calledBy: `${family.replace("-", "_")}_run`,
          args:
            family === "f32-gemm"
              ? ["mr", "nc", "kc", "*a", "*as", "*w", "*c", "*cs", "relu"]
              : ["mr", "nc", "kc", "ks", "*ind", "*w", "*c", "*cs", "relu"],
        });
  return out;
}

const BOTH = ISAS;

/** Kernels a plan calls, in WASI kernel-id order. */
const PLAN_KERNELS = [
  {
    name: "f32_gemm_run",
    family: "f32-gemm",
    ukernel: "f32-gemm-MRx8",
    dtype: "f32",
    tile: "MRx8",
    generated: true,
    args: ["tile", "m0", "m1", "n0", "n1", "kc", "*a", "*as", "*w", "*c", "*cs", "relu"],
    requires: [`tile >= 1 && tile <= ${F32_GEMM_TILES.length}`, ...gemmRange, "kc >= 1"],
    buffers: [
      ["*a", "r", "m0 * as", "(m1 - 1) * as + kc * 4", nonEmpty],
      ["*w", "r", ...panels("(kc + 1) * 32"), nonEmpty],
      gemmOut(4),
    ],
  },
  {
    name: "f32_igemm_run",
    family: "f32-igemm",
    ukernel: "f32-igemm-MRx8",
    dtype: "f32",
    tile: "MRx8",
    generated: true,
    args: ["tile", "m0", "m1", "n0", "n1", "kc", "ks", "*ind", "*w", "*c", "*cs", "relu"],
    requires: [`tile >= 1 && tile <= ${F32_GEMM_TILES.length}`, ...gemmRange, "kc >= 1", "ks >= 1"],
    buffers: [
      ["*ind", "t", "m0 * ks * 4", "m1 * ks * 4", nonEmpty, null, "kc * 4"],
      ["*w", "r", ...panels("(ks * kc + 1) * 32"), nonEmpty],
      gemmOut(4),
    ],
  },
  winoInput("f32_wino_input", 2),
  winoOutput("f32_wino_output", 2),
  maxpool("f32_maxpool", "f32-maxpool", "f32", 4),
  {
    name: "f32_vadd",
    family: "vadd",
    ukernel: "f32-vadd",
    dtype: "f32",
    args: ["i0", "i1", "*a", "*b", "*y", "relu"],
    requires: ["i0 >= 0 && i0 <= i1"],
    buffers: ["*a", "*b", "*y"].map((p) => [p, p === "*y" ? "w" : "r", "i0 * 4", "i1 * 4", "i0 < i1"]),
  },
  {
    name: "f32_gap",
    family: "gap",
    ukernel: "f32-gavgpool",
    dtype: "f32",
    args: ["hw", "c", "*x", "*y", "c0", "c1"],
    requires: ["hw >= 0", "c0 >= 0 && c0 <= c1 && c1 <= c"],
    buffers: [
      ["*x", "r", "0", "hw * c * 4", "c0 < c1"],
      ["*y", "w", "c0 * 4", "c1 * 4", "c0 < c1"],
    ],
  },
  {
    name: "f32_softmax",
    family: "softmax",
    ukernel: "f32-softmax",
    dtype: "f32",
    args: ["n", "*x", "*y"],
    requires: ["n >= 0"],
    buffers: [
      ["*x", "r", "0", "n * 4", "n > 0"],
      ["*y", "w", "0", "n * 4", "n > 0"],
    ],
  },
  {
    name: "f32_f16w_igemm_run",
    family: "f16w-igemm",
    ukernel: "f32-f16w-igemm-MRx8",
    dtype: "f32 x f16",
    tile: "MRx8",
    args: ["tile", "m0", "m1", "n0", "n1", "kc", "ks", "*ind", "*w", "*c", "*cs", "relu", "*scratch"],
    requires: [`tile >= 1 && tile <= ${F32_GEMM_TILES.length}`, ...gemmRange, "kc >= 1", "ks >= 1"],
    buffers: [
      ["*ind", "t", "m0 * ks * 4", "m1 * ks * 4", nonEmpty, null, "kc * 4"],
      ["*w", "r", ...panels("(32 + ks * kc * 16)"), nonEmpty],
      [
        "*scratch",
        "w",
        "0",
        "min(cdiv(n1 - n0, 8), max(1, div(131072, (ks * kc + 1) * 32))) * (ks * kc + 1) * 32",
        nonEmpty,
      ],
      gemmOut(4),
    ],
  },
  {
    name: "qs8_im2col16",
    family: "qs8-gemm16",
    ukernel: "qs8-im2col16-x4",
    dtype: "qs8",
    args: [
      "m0",
      "m1",
      "ih",
      "iw",
      "c",
      "ow",
      "kh",
      "kw",
      "sh",
      "sw",
      "pt",
      "pl",
      "*x",
      "*a16",
      "*qp",
      "merge",
    ],
    requires: [...small(GEOMETRY), "ow >= 1", "m0 >= 0 && m0 <= m1", "merge == 0 || (merge == 1 && c == 1)"],
    buffers: [
      ["*x", "r", "0", "ih * iw * c", "m0 < m1"],
      [
        "*a16",
        "w",
        "div(m0, 4) * (merge == 1 ? cdiv(kh * kw, 2) : kh * kw * cdiv(c, 2)) * 16",
        "cdiv(m1, 4) * (merge == 1 ? cdiv(kh * kw, 2) : kh * kw * cdiv(c, 2)) * 16",
        "m0 < m1",
      ],
      ["*qp", "p"],
    ],
  },
  {
    name: "qs8_gemm16_run",
    family: "qs8-gemm16",
    ukernel: "qs8-gemm16-4x8c2",
    dtype: "qs8",
    tile: "4x8c2",
    args: ["m0", "m1", "n0", "n1", "kc", "ks", "*a16", "*w", "*c", "*cs", "relu", "*qp", "*rq", "*rd"],
    requires: [...gemmRange, "m0 % 4 == 0", "kc >= 0 && kc <= 65535 && ks >= 0 && ks <= 65535"],
    buffers: [
      ["*a16", "r", "div(m0, 4) * ks * cdiv(kc, 2) * 16", "cdiv(m1, 4) * ks * cdiv(kc, 2) * 16", nonEmpty],
      ["*w", "r", ...panels("qs8_panel_bytes(kc, ks)"), nonEmpty],
      ["*qp", "p"],
      ["*c", "w", "m0 * cs + n0 * out_bytes(qp)", "(m1 - 1) * cs + n1 * out_bytes(qp)", nonEmpty],
      ["*rq", "p", null, null, "rq != 0"],
      [
        "*rd",
        "r",
        "m0 * cs + n0 * out_bytes(qp)",
        "(m1 - 1) * cs + n1 * out_bytes(qp)",
        `rq != 0 && ${nonEmpty}`,
        "wrap(c + rd)",
      ],
    ],
  },
  {
    name: "qs8_wino_input",
    family: "qs8-wino",
    ukernel: "qs8-wino-input-4x4-4x5",
    dtype: "qs8",
    tile: "4x4 / 4x5",
    args: ["ih", "iw", "c", "tw", "*x", "*v", "*vstride", "t0", "t1", "*qp", "cols"],
    requires: [...small(["ih", "iw", "c"]), "tw >= 1", "t0 >= 0 && t0 <= t1", "cols == 2 || cols == 3"],
    buffers: [
      ["*x", "r", "0", "ih * iw * c", "t0 < t1"],
      [
        "*v",
        "w",
        "div(t0, 4) * cdiv(c, 2) * 16",
        "(cols == 3 ? 19 : 15) * vstride + cdiv(t1, 4) * cdiv(c, 2) * 16",
        "t0 < t1",
      ],
      ["*qp", "p"],
    ],
  },
  {
    name: "qs8_wino_gemm_run",
    family: "qs8-wino",
    ukernel: "qs8-wino-gemm16-4x8c2",
    dtype: "qs8",
    tile: "4x8c2",
    args: [
      "m0",
      "m1",
      "n0",
      "n1",
      "cin",
      "*v",
      "*vstride",
      "*w",
      "*scratch",
      "oh",
      "ow",
      "cout",
      "tw",
      "*y",
      "relu",
      "*qp",
      "*rq",
      "*rd",
      "cols",
    ],
    requires: [
      ...gemmRange,
      "m0 % 4 == 0",
      ...small(["cin", "oh", "ow", "cout"]),
      "n1 <= cout",
      "cols == 2 || cols == 3",
      "tw >= 1 && tw <= cdiv(ow, cols)",
      "m1 <= tw * cdiv(oh, 2)",
    ],
    buffers: [
      [
        "*v",
        "r",
        "div(m0, 4) * cdiv(cin, 2) * 16",
        "(cols == 3 ? 19 : 15) * vstride + cdiv(m1, 4) * cdiv(cin, 2) * 16",
        nonEmpty,
      ],
      ["*w", "r", ...panels("qs8_panel_bytes(cin, 9)"), nonEmpty],
      ["*scratch", "w", "0", "qs8_wino_scratch_bytes(cin, m1 - m0, cols)", nonEmpty],
      ["*qp", "p"],
      ["*y", "w", "0", "oh * ow * cout * out_bytes(qp)", nonEmpty],
      ["*rq", "p", null, null, "rq != 0"],
      ["*rd", "r", "0", "oh * ow * cout * out_bytes(qp)", `rq != 0 && ${nonEmpty}`, "wrap(y + rd)"],
    ],
  },
  {
    name: "qs8_quantize",
    family: "quantize",
    ukernel: "f32-qs8-vcvt",
    dtype: "f32 -> qs8",
    args: ["i0", "i1", "*x", "*y", "*qp"],
    requires: ["i0 >= 0 && i0 <= i1"],
    buffers: [
      ["*x", "r", "i0 * 4", "i1 * 4", "i0 < i1"],
      ["*y", "w", "i0", "i1", "i0 < i1"],
      ["*qp", "p"],
    ],
  },
  {
    name: "qs8_dequantize",
    family: "quantize",
    ukernel: "qs8-f32-vcvt",
    dtype: "qs8 -> f32",
    args: ["i0", "i1", "*x", "*y", "*qp"],
    requires: ["i0 >= 0 && i0 <= i1"],
    buffers: [
      ["*x", "r", "i0", "i1", "i0 < i1"],
      ["*y", "w", "i0 * 4", "i1 * 4", "i0 < i1"],
      ["*qp", "p"],
    ],
  },
  {
    name: "qs8_dynamic_params",
    family: "quantize",
    ukernel: "f32-qs8-rminmax",
    dtype: "f32",
    args: ["n", "*x", "*qp", "*pad", "padBytes"],
    requires: ["n >= 0", "padBytes >= 0"],
    buffers: [
      ["*x", "r", "0", "n * 4", "n > 0"],
      ["*qp", "w", "0", `${QP_FIELD_BYTES}`],
      ["*pad", "w", "0", "padBytes", "padBytes > 0"],
    ],
  },
  {
    name: "qs8_add",
    family: "vadd",
    ukernel: "qs8-vadd",
    dtype: "qs8",
    args: ["i0", "i1", "*a", "*b", "*y", "*qa", "*qb", "*qy", "relu"],
    requires: ["i0 >= 0 && i0 <= i1"],
    buffers: [
      ...["*a", "*b", "*y"].map((p) => [p, p === "*y" ? "w" : "r", "i0", "i1", "i0 < i1"]),
      ["*qa", "p"],
      ["*qb", "p"],
      ["*qy", "p"],
    ],
  },
  maxpool("qs8_maxpool", "s8-maxpool", "qs8", 1),
  {
    name: "qs8_gap",
    family: "gap",
    ukernel: "qs8-f32-gavgpool",
    dtype: "qs8 -> f32",
    args: ["hw", "c", "*x", "*y", "c0", "c1", "*qp"],
    requires: ["hw >= 0", "c0 >= 0 && c0 <= c1 && c1 <= c"],
    buffers: [
      ["*x", "r", "0", "hw * c", "c0 < c1"],
      ["*y", "w", "c0 * 4", "c1 * 4", "c0 < c1"],
      ["*qp", "p"],
    ],
  },
  // f32 Winograd F(4x4,3x3) (appended: plan kernel ids are positions in this list).
  winoInput("f32_wino4_input", 4),
  winoOutput("f32_wino4_output", 4),
  // f16-weight Winograd F(2x2,3x3) GEMMs, weights transformed per block of panels.
  {
    name: "f32_f16w_wino_gemm_run",
    family: "f16w-wino",
    ukernel: "f32-f16w-wino-gemm-MRx8",
    dtype: "f32 x f16",
    tile: "MRx8",
    args: [
      "tile",
      "m0",
      "m1",
      "n0",
      "n1",
      "cin",
      "cout",
      "*v",
      "*vstride",
      "*w",
      "*m",
      "*mstride",
      "*scratch",
    ],
    requires: [
      `tile >= 1 && tile <= ${F32_GEMM_TILES.length}`,
      ...gemmRange,
      ...small(["cin", "cout"]),
      "cin >= 1 && n1 <= cout",
    ],
    buffers: [
      ["*v", "r", "m0 * cin * 4", "15 * vstride + m1 * cin * 4", nonEmpty],
      ["*w", "r", ...panels("(32 + 9 * cin * 16)"), nonEmpty],
      ["*m", "w", "m0 * cout * 4 + n0 * 4", "15 * mstride + (m1 - 1) * cout * 4 + n1 * 4", nonEmpty],
      ["*scratch", "w", "0", "f16_wino_scratch_bytes(cin, n1 - n0)", nonEmpty],
    ],
  },
];

/**
 * Kernels the host calls at load time (weight packing), module queries and peak loops: name,
 * family, dtype, arguments, return type, and the kernel that calls it when the host does not.
 */
const LOAD_KERNELS = [
  ["heap_base", "module", "-", [], "usize"],
  ["simd_enabled", "module", "-", [], "i32"],
  ["f32_pack_weights", "f32-gemm", "f32", ["k", "n", "*src", "*bias", "*dst"]],
  ["f32_wino_pack_weights", "f32-wino", "f32", ["cin", "cout", "*src", "*dst"]],
  ["f32_wino4_pack_weights", "f32-wino", "f32", ["cin", "cout", "*src", "*dst"]],
  ["f16_pack_weights", "f16w-igemm", "f16", ["k", "n", "*src", "*bias", "*dst"]],
  [
    "f16_widen_panels",
    "f16w-igemm",
    "f16 -> f32",
    ["panels", "k", "*src", "*dst"],
    "void",
    "f32_f16w_igemm_run",
  ],
  ["qs8_unpack_int4", "qs8-gemm16", "qs4 -> qs8", ["rows", "n", "*src", "*dst"]],
  [
    "qs8_pack_weights",
    "qs8-gemm16",
    "qs8",
    ["kc", "ks", "n", "*src", "*scales", "*bias", "*dst", "pairMajor"],
  ],
  ["qs8_wino_weights", "qs8-wino", "qs8 -> i16", ["kp", "*g", "*u", "*ustride"], "void", "qs8_wino_gemm_run"],
  [
    "qs8_wino3_weights",
    "qs8-wino",
    "qs8 -> i16",
    ["kp", "*g", "*u", "*ustride", "i"],
    "void",
    "qs8_wino_gemm_run",
  ],
  ["f32_peak", "peak", "f32", ["iters", "seed:f32"], "f32"],
  ["qs8_peak", "peak", "qs8", ["iters", "seed"], "i32"],
].map(([name, family, dtype, args, ret = "void", calledBy]) => ({
  name,
  family,
  ukernel: name.replace(/_/g, "-"),
  dtype,
  args,
  ret,
  ...(calledBy ? { calledBy } : {}),
}));

// ---------------------------------------------------------------------------------------------
// Relaxed SIMD (build/engine-relaxed.wasm, compiled only after the host's self-check): qs8 with
// 7-bit activations, and the f32 GEMMs with fused multiply-adds

/** ISA of the relaxed-SIMD module (i32x4.relaxed_dot_i8x16_i7x16_add_s, f32x4.relaxed_madd). */
export const RELAXED = ["wasmrelaxed"];
/**
 * The f32 GEMM drivers of the 128-bit module compiled into the relaxed one with fused
 * multiply-adds (f32x4.relaxed_madd): the same arguments, tiles and packed weights.
 */
function fmaDrivers() {
  const like = (name) => PLAN_KERNELS.find((k) => k.name === name);
  return [
    ["f32_fma_gemm_run", "f32-fma-gemm", "f32_gemm_run"],
    ["f32_fma_igemm_run", "f32-fma-igemm", "f32_igemm_run"],
    ["f32_f16w_fma_igemm_run", "f16w-fma-igemm", "f32_f16w_igemm_run"],
    ["f32_f16w_fma_wino_gemm_run", "f16w-fma-wino", "f32_f16w_wino_gemm_run"],
  ].map(([name, family, of]) => [name, family, like(of).dtype, like(of).args, "void", "MRx8", of]);
}

/**
 * Kernels of the relaxed-SIMD module: name, family, dtype, arguments, return type, tile (the
 * micro-kernel's MRx8 and its K group for GEMMs) and, for the FMA peak and drivers, the 128-bit
 * kernel they mirror.
 */
const RELAXED_KERNELS = [
  ["relaxed_dot_check", "relaxed-check", "qs8 x u7", ["*a", "*b", "*c", "*out", "blocks"]],
  ["qs8_relaxed_peak", "peak", "qs8 x u7", ["iters", "seed"], "i32"],
  ["qs8_rdot_panel_bytes", "qs8-rdot", "-", ["k"], "i32"],
  ["qs8_rdot_pack_weights", "qs8-rdot", "qs8", ["k", "n", "*src", "*scales", "*bias", "*dst"]],
  [
    "qs8_rdot_gemm_run",
    "qs8-rdot",
    "qs8 x u7",
    ["m0", "m1", "n0", "n1", "k", "*a", "*as", "*w", "*c", "*cs", "relu", "*qp", "*rq", "*rd"],
    "void",
    "4x8c4",
  ],
  ["qs8_rdot_row_bytes", "qs8-rdot", "-", ["kh", "kw", "c"], "i32"],
  [
    "qs8_rdot_im2col",
    "qs8-rdot",
    "u7",
    ["m0", "m1", "ih", "iw", "c", "ow", "kh", "kw", "sh", "sw", "pt", "pl", "*x", "*a"],
  ],
  ["relaxed_fma_check", "relaxed-check", "f32", ["*a", "*b", "*c", "*out", "n"]],
  ["f32_fma_peak", "peak", "f32", ["iters", "seed:f32"], "f32", "-", "f32_peak"],
  ...fmaDrivers(),
].map(([name, family, dtype, args, ret = "void", tile = "-", sameAs]) => ({
  name,
  family,
  ukernel: tile === "-" ? name.replace(/_/g, "-") : `${family}-${tile}-wasmrelaxed`,
  dtype,
  args,
  ret,
  tile,
  isa: RELAXED,
  source: "../relaxed",
  // the kernel of the 128-bit module whose signature it has (its TypeScript type is that one's)
  ...(sameAs ? { sameAs } : {}),
}));

/** The AssemblyScript module (relative to assembly/gen) that defines a plan kernel. */
function sourceOf(k) {
  if (k.generated) return `./${k.family}-wasmsimd`;
  return /^(qs8_|f16_|f32_f16w_)/.test(k.name) ? "../quant" : "../common";
}

const withDefaults = (k) => ({ isa: BOTH, tile: "-", ret: "void", plan: false, source: sourceOf(k), ...k });

/** Every export of the kernel modules (beside `memory`), one entry each. */
export const KERNELS = [
  ...PLAN_KERNELS.map((k) => withDefaults({ ...k, plan: true })),
  ...LOAD_KERNELS.map(withDefaults),
  ...LAYOUT.map((l) =>
    withDefaults({
      name: l.name,
      family: "layout",
      ukernel: l.name.replace(/_/g, "-"),
      dtype: "-",
      args: l.args,
      ret: "i32",
    }),
  ),
  ...f32TileKernels().map(withDefaults),
  ...RELAXED_KERNELS.map(withDefaults),
];

/** Kernel families, each with one tester (test/kernel-testers.ts). */
export const FAMILIES = [...new Set(KERNELS.map((k) => k.family))];
