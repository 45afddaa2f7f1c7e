// Builds the kernel modules: 128-bit SIMD and scalar, both on an imported shared memory.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
// The generated kernels are committed: check that they are what the generator makes.
for (const gen of ["gen-gemm.mjs", "gen-layout.mjs", "gen-kernels.mjs"])
  execFileSync(process.execPath, [path.join(root, "scripts", gen), "--check"], { stdio: "inherit" });
fs.mkdirSync(path.join(root, "build"), { recursive: true });
const asc = path.join(
  path.dirname(fileURLToPath(import.meta.resolve("assemblyscript/package.json"))),
  "bin",
  "asc.js",
);
const common = [
  "-O3",
  "--runtime",
  "stub",
  "--noAssert",
  "--enable",
  "threads",
  "--importMemory",
  "--sharedMemory",
  "--initialMemory",
  "1",
  "--maximumMemory",
  "65536",
];
const builds = [
  ["assembly/engine-simd.ts", "build/engine-simd.wasm", ["--enable", "simd"]],
  ["assembly/engine-scalar.ts", "build/engine-scalar.wasm", []],
];
for (const [src, out, extra] of builds) {
  execFileSync(
    process.execPath,
    [asc, src, ...common, ...extra, "-o", out, "--textFile", out.replace(/\.wasm$/, ".wat")],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}
// Stand-alone WASI program (same kernels, single thread) through @assemblyscript/wasi-shim.
const shimDir = path.dirname(fileURLToPath(import.meta.resolve("@assemblyscript/wasi-shim/package.json")));
const shimConfig = JSON.parse(fs.readFileSync(path.join(shimDir, "asconfig.json"), "utf8")).options;
execFileSync(
  process.execPath,
  [
    asc,
    "assembly/wasi/main.ts",
    "--lib",
    path.relative(root, path.join(shimDir, "assembly")), // asc resolves --lib relative to the base dir
    ...shimConfig.use.flatMap((u) => ["--use", u]),
    "--exportStart",
    shimConfig.exportStart,
    "-O3",
    "--enable",
    "simd",
    "-o",
    "build/engine-wasi.wasm",
  ],
  { cwd: root, stdio: "inherit" },
);
