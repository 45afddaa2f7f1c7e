// Generates the f32 GEMM / IGEMM micro-kernels (assembly/gen/*.ts, committed) for every tile MRx8,
// in a 128-bit SIMD variant (wasmsimd) and a scalar variant with the same tiles and the same
// accumulation order (bias, then k = 0, 1, ... with a separate multiply and add), so both give
// bit-identical results. Compiled into the relaxed-SIMD module (ASC_FEATURE_RELAXED_SIMD), the
// 128-bit kernels multiply-add with f32x4.relaxed_madd instead: one rounding per step (the host
// uses that module only after its self-check found the instruction fused in every tier), so
// those results differ from the mul+add kernels' in the last bits; same tiles, same order.
// Tiles, ISAs and kernel names come from the kernel manifest (scripts/kernel-manifest.mjs).
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { KERNELS, NR, F32_GEMM_TILES as TILES } from "./kernel-manifest.mjs";
import { writeOrCheck } from "./write-generated.mjs";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

function rowSetup(mr, base, stride, isIndirect) {
  const lines = [];
  lines.push(`  let a0: usize = ${base};`);
  lines.push(`  let c0: usize = c;`);
  for (let r = 1; r < mr; r++) {
    lines.push(`  let a${r}: usize = a${r - 1} + ${stride};`);
    lines.push(`  let c${r}: usize = c${r - 1} + cs;`);
    lines.push(`  if (mr <= ${r}) { a${r} = a${r - 1}; c${r} = c${r - 1}; }`);
  }
  void isIndirect;
  return lines;
}

/** The manifest's name of the MRx8 micro-kernel of a family and ISA. */
function tileKernel(family, mr, isa) {
  const k = KERNELS.find((e) => e.family === family && e.tile === `${mr}x${NR}` && e.isa[0] === isa);
  if (!k) throw new Error(`scripts/kernel-manifest.mjs has no ${family} ${mr}x${NR} ${isa} kernel`);
  return k.name;
}

function simdKernel(mr, indirect) {
  const name = tileKernel(indirect ? "f32-igemm" : "f32-gemm", mr, "wasmsimd");
  const L = [];
  L.push(
    indirect
      ? `export function ${name}(mr: i32, nc: i32, kc: i32, ks: i32, ind: usize, w: usize, c: usize, cs: usize, relu: i32): void {`
      : `export function ${name}(mr: i32, nc: i32, kc: i32, a: usize, as: usize, w: usize, c: usize, cs: usize, relu: i32): void {`,
  );
  L.push(...rowSetup(mr, indirect ? "ind" : "a", indirect ? "(<usize>ks << 2)" : "as", indirect));
  L.push(`  const zero = f32x4.splat(0);`);
  L.push(`  while (nc > 0) {`);
  L.push(`    let acc00 = v128.load(w); let acc01 = v128.load(w, 16);`);
  for (let r = 1; r < mr; r++) L.push(`    let acc${r}0 = acc00; let acc${r}1 = acc01;`);
  L.push(`    w += 32;`);
  const inner = (ind) => {
    const I = [];
    for (let r = 0; r < mr; r++) I.push(`${ind}let p${r}: usize = ${indirect ? `p${r}t` : `a${r}`};`);
    I.push(`${ind}for (let k = 0; k < kc; k++) {`);
    I.push(`${ind}  const b0 = v128.load(w); const b1 = v128.load(w, 16); w += 32;`);
    for (let r = 0; r < mr; r++) {
      I.push(`${ind}  const x${r} = v128.load32_splat(p${r}); p${r} += 4;`);
      I.push(`${ind}  acc${r}0 = madd(x${r}, b0, acc${r}0);`);
      I.push(`${ind}  acc${r}1 = madd(x${r}, b1, acc${r}1);`);
    }
    I.push(`${ind}}`);
    return I;
  };
  if (indirect) {
    L.push(`    for (let t = 0; t < ks; t++) {`);
    for (let r = 0; r < mr; r++) L.push(`      const p${r}t: usize = load<u32>(a${r} + (<usize>t << 2));`);
    L.push(...inner("      "));
    L.push(`    }`);
  } else {
    L.push(...inner("    "));
  }
  L.push(`    if (relu) {`);
  for (let r = 0; r < mr; r++)
    L.push(`      acc${r}0 = f32x4.pmax(zero, acc${r}0); acc${r}1 = f32x4.pmax(zero, acc${r}1);`);
  L.push(`    }`);
  L.push(`    if (nc >= 8) {`);
  for (let r = mr - 1; r >= 0; r--)
    L.push(`      v128.store(c${r}, acc${r}0); v128.store(c${r}, acc${r}1, 16); c${r} += 32;`);
  L.push(`      nc -= 8;`);
  L.push(`    } else {`);
  for (let r = mr - 1; r >= 0; r--) L.push(`      store_partial(c${r}, acc${r}0, acc${r}1, nc);`);
  L.push(`      nc = 0;`);
  L.push(`    }`);
  L.push(`  }`);
  L.push(`}`);
  return { name, code: L.join("\n") };
}

function scalarKernel(mr, indirect) {
  const name = tileKernel(indirect ? "f32-igemm" : "f32-gemm", mr, "scalar");
  const L = [];
  L.push(
    indirect
      ? `export function ${name}(mr: i32, nc: i32, kc: i32, ks: i32, ind: usize, w: usize, c: usize, cs: usize, relu: i32): void {`
      : `export function ${name}(mr: i32, nc: i32, kc: i32, a: usize, as: usize, w: usize, c: usize, cs: usize, relu: i32): void {`,
  );
  L.push(...rowSetup(mr, indirect ? "ind" : "a", indirect ? "(<usize>ks << 2)" : "as", indirect));
  L.push(`  while (nc > 0) {`);
  for (let j = 0; j < NR; j++) L.push(`    let acc0_${j} = load<f32>(w, ${4 * j});`);
  for (let r = 1; r < mr; r++)
    L.push(`    ${Array.from({ length: NR }, (_, j) => `let acc${r}_${j} = acc0_${j};`).join(" ")}`);
  L.push(`    w += 32;`);
  const inner = (ind) => {
    const I = [];
    for (let r = 0; r < mr; r++) I.push(`${ind}let p${r}: usize = ${indirect ? `p${r}t` : `a${r}`};`);
    I.push(`${ind}for (let k = 0; k < kc; k++) {`);
    I.push(
      `${ind}  ${Array.from({ length: NR }, (_, j) => `const b${j} = load<f32>(w, ${4 * j});`).join(" ")} w += 32;`,
    );
    for (let r = 0; r < mr; r++) {
      I.push(`${ind}  const x${r} = load<f32>(p${r}); p${r} += 4;`);
      I.push(`${ind}  ${Array.from({ length: NR }, (_, j) => `acc${r}_${j} += x${r} * b${j};`).join(" ")}`);
    }
    I.push(`${ind}}`);
    return I;
  };
  if (indirect) {
    L.push(`    for (let t = 0; t < ks; t++) {`);
    for (let r = 0; r < mr; r++) L.push(`      const p${r}t: usize = load<u32>(a${r} + (<usize>t << 2));`);
    L.push(...inner("      "));
    L.push(`    }`);
  } else {
    L.push(...inner("    "));
  }
  L.push(`    if (relu) {`);
  for (let r = 0; r < mr; r++)
    L.push(
      `      ${Array.from({ length: NR }, (_, j) => `acc${r}_${j} = select<f32>(acc${r}_${j}, 0, acc${r}_${j} > 0);`).join(" ")}`,
    );
  L.push(`    }`);
  L.push(`    const n = nc < 8 ? nc : 8;`);
  for (let r = mr - 1; r >= 0; r--) {
    L.push(`    store<f32>(c${r}, acc${r}_0);`);
    for (let j = 1; j < NR; j++) L.push(`    if (n > ${j}) store<f32>(c${r}, acc${r}_${j}, ${4 * j});`);
    L.push(`    c${r} += 32;`);
  }
  L.push(`    nc -= 8;`);
  L.push(`  }`);
  L.push(`}`);
  return { name, code: L.join("\n") };
}

function driver(isa, indirect) {
  const fam = indirect ? "igemm" : "gemm";
  const L = [];
  if (indirect) {
    L.push(`/**
 * Runs the IGEMM for output rows [m0, m1) and columns [n0, n1) with the MRx8 tile \`tile\`.
 * ind: indirection buffer, ks byte pointers per output row; w: packed weights (panels of 8
 * columns: 8 biases then ks*kc rows of 8); c: output with row stride cs bytes.
 */`);
    L.push(
      `export function f32_igemm_run(tile: i32, m0: i32, m1: i32, n0: i32, n1: i32, kc: i32, ks: i32, ind: usize, w: usize, c: usize, cs: usize, relu: i32): void {`,
    );
    L.push(`  const panel: usize = (<usize>ks * <usize>kc + 1) * 32;`);
    L.push(`  const rowBytes: usize = <usize>kc * <usize>ks * 4;`);
  } else {
    L.push(`/**
 * Runs the GEMM C = A B + bias for rows [m0, m1) and columns [n0, n1) with the MRx8 tile
 * \`tile\`. a: rows of kc floats with stride as bytes; w: packed weights (panels of 8 columns:
 * 8 biases then kc rows of 8); c: output with row stride cs bytes.
 */`);
    L.push(
      `export function f32_gemm_run(tile: i32, m0: i32, m1: i32, n0: i32, n1: i32, kc: i32, a: usize, as: usize, w: usize, c: usize, cs: usize, relu: i32): void {`,
    );
    L.push(`  const panel: usize = (<usize>kc + 1) * 32;`);
    L.push(`  const rowBytes: usize = <usize>kc * 4;`);
  }
  // Cache blocking: a block of rows whose A (or gathered input) fits ~128 KiB, and column
  // blocks whose packed weights fit ~128 KiB.
  L.push(`  let mb = <i32>(<usize>131072 / rowBytes); mb = mb - mb % tile; if (mb < tile) mb = tile;`);
  L.push(`  let nb = <i32>(<usize>131072 / panel) * 8; if (nb < 8) nb = 8;`);
  L.push(`  for (let mbs = m0; mbs < m1; mbs += mb) {`);
  L.push(`    const mbe = min(mbs + mb, m1);`);
  L.push(`    for (let nbs = n0; nbs < n1; nbs += nb) {`);
  L.push(`      const nc = min(nb, n1 - nbs);`);
  L.push(`      const wp = w + <usize>(nbs >> 3) * panel;`);
  L.push(`      for (let m = mbs; m < mbe; m += tile) {`);
  L.push(`        const rows = min(tile, mbe - m);`);
  L.push(`        const cp = c + <usize>m * cs + (<usize>nbs << 2);`);
  L.push(
    indirect ? `        const ap = ind + <usize>m * <usize>ks * 4;` : `        const ap = a + <usize>m * as;`,
  );
  L.push(`        switch (tile) {`);
  for (const mr of TILES) {
    const args = indirect
      ? `rows, nc, kc, ks, ap, wp, cp, cs, relu`
      : `rows, nc, kc, ap, as, wp, cp, cs, relu`;
    L.push(`          case ${mr}: ${tileKernel(`f32-${fam}`, mr, isa)}(${args}); break;`);
  }
  L.push(`          default: unreachable();`);
  L.push(`        }`);
  L.push(`      }`);
  L.push(`    }`);
  L.push(`  }`);
  L.push(`}`);
  return L.join("\n");
}

const header = `// Generated by scripts/gen-gemm.mjs; do not edit (run \`node scripts/gen-gemm.mjs\` and commit).\n`;
const storePartial = `// @ts-ignore: decorator
@inline function store_partial(c: usize, v0: v128, v1: v128, nc: i32): void {
  let v = v0;
  if (nc & 4) { v128.store(c, v0); v = v1; c += 16; }
  if (nc & 2) { store<f32>(c, f32x4.extract_lane(v, 0)); store<f32>(c, f32x4.extract_lane(v, 1), 4); v = v128.shuffle<f32>(v, v, 2, 3, 2, 3); c += 8; }
  if (nc & 1) { store<f32>(c, f32x4.extract_lane(v, 0)); }
}`;

const madd = `/** acc + x * b: fused (one rounding) in the relaxed-SIMD build, else a multiply then an add. */
// @ts-ignore: decorator
@inline function madd(x: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, b, acc);
  return f32x4.add(acc, f32x4.mul(x, b));
}`;

/** One file per kernel family and ISA, named as XNNPACK names them (f32-gemm-wasmsimd.ts, ...). */
function files() {
  const out = new Map();
  for (const ind of [false, true]) {
    const family = ind ? "f32-igemm" : "f32-gemm";
    const simd = [header, storePartial, madd];
    const scalar = [header];
    for (const mr of TILES) {
      simd.push(simdKernel(mr, ind).code);
      scalar.push(scalarKernel(mr, ind).code);
    }
    simd.push(driver("wasmsimd", ind));
    scalar.push(driver("scalar", ind));
    out.set(`${family}-wasmsimd.ts`, `${simd.join("\n\n")}\n`);
    out.set(`${family}-scalar.ts`, `${scalar.join("\n\n")}\n`);
  }
  return out;
}

writeOrCheck(
  root,
  [...files()].map(([name, text]) => [`assembly/gen/${name}`, text]),
  "gen-gemm.mjs",
  process.argv.includes("--check"),
);
