/**
 * The WASI build (build/engine-wasi.wasm) runs a plan file: the kernel call records of a model
 * planned and loaded by this engine (single thread, SIMD kernels), with the memory image the
 * load produced (packed weights, parameter blocks, padding vectors, indirection buffers). The
 * module then needs no model-file reader of its own. Plan file, little-endian u32 words:
 *
 *   0  "EAMPLAN1"          8  version (1)         12 CRC-32 of bytes 16..end
 *   16 file bytes          20 base address        24 memory bytes      28 image bytes
 *   32 input address       36 input float32 count 40 output address    44 output float32 count
 *   48 call count          52 call words          56..63 zero
 *   64 call records: kernel id (index in WASI_KERNELS), then its arguments, one word each
 *   .. memory image: the bytes at [base, base + image bytes) after loading
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";
import { crc32 } from "./crc32.js";
import { opCalls } from "./executor.js";
import { KERNEL_MANIFEST, PLAN_KERNELS, type PlanKernelName } from "./gen/kernels.js";
import type { LoadOptions, Model } from "./model.js";

export const WASI_WASM = fileURLToPath(new URL("../build/engine-wasi.wasm", import.meta.url));

/** Where the plan's memory starts: above the WASI module's static data and its own small heap. */
export const WASI_PLAN_BASE = 1 << 20;

/**
 * Kernels a call record may name (id = index), with their argument counts: the plan kernels of
 * the kernel manifest (scripts/kernel-manifest.mjs), which also generates the WASI module's table
 * (assembly/gen/wasi-kernels.ts).
 */
export const WASI_KERNELS: ReadonlyArray<readonly [PlanKernelName, number]> = PLAN_KERNELS.map((name) => [
  name,
  KERNEL_MANIFEST.find((k) => k.name === name)!.args.length,
]);

const HEADER_BYTES = 64;
const MAGIC = "EAMPLAN1";

/** The kernel calls one thread makes running the model once, as call records. */
export function recordCalls(model: Model): number[] {
  const words: number[] = [];
  for (const op of model.plan.ops)
    for (const { kernel, args } of opCalls(op, model.plan.tile, 0, 1)) {
      for (const a of args)
        if (!Number.isInteger(a) || a < -(2 ** 31) || a >= 2 ** 32)
          throw new Error(`kernel ${kernel} argument ${a} is not a 32-bit integer`);
      words.push(PLAN_KERNELS.indexOf(kernel), ...args);
    }
  return words;
}

/** Length of `b` without its trailing zero bytes (fresh wasm memory is zero). */
function trimmedLength(b: Uint8Array): number {
  let n = b.length;
  while (n > 0 && b[n - 1] === 0) n--;
  return n;
}

/** The plan file of a model loaded with threads 1, isa wasmsimd and heapBase WASI_PLAN_BASE. */
export function planFileBytes(model: Model): Uint8Array {
  const p = model.plan;
  if (p.controlAddr < WASI_PLAN_BASE) throw new Error("the model was not planned for WASI (heapBase)");
  const words = recordCalls(model);
  const base = p.controlAddr;
  const whole = new Uint8Array(model.memory.buffer, base, p.arenaAddr - base);
  const image = whole.subarray(0, trimmedLength(whole));
  const size = HEADER_BYTES + words.length * 4 + image.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from(MAGIC, "latin1"), 0);
  const fields = [
    1,
    0,
    size,
    base,
    p.totalBytes,
    image.length,
    p.input.addr,
    p.input.bytes / 4,
    p.output.addr,
    p.output.bytes / 4,
    countCalls(words),
    words.length,
  ];
  for (const [i, v] of fields.entries()) dv.setUint32(8 + i * 4, v, true);
  for (const [i, v] of words.entries()) dv.setUint32(HEADER_BYTES + i * 4, v >>> 0, true);
  out.set(image, HEADER_BYTES + words.length * 4);
  dv.setUint32(12, crc32(out.subarray(16)), true);
  return out;
}

function countCalls(words: number[]): number {
  let n = 0;
  for (let i = 0; i < words.length; i += 1 + WASI_KERNELS[words[i]!]![1]) n++;
  return n;
}

/** Load options that plan a model for the WASI module (same kernels, one thread). */
export function wasiLoadOptions(winograd = true): LoadOptions {
  return { threads: 1, isa: "wasmsimd", winograd, heapBase: WASI_PLAN_BASE };
}

/** The WASI module refused its plan or crop (its one-line message). */
export class WasiError extends Error {
  override name = "WasiError";
}

export interface WasiResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the WASI module on a plan file and a crop file under node:wasi with this process's stdio,
 * their folders preopened at the same paths; returns its exit code.
 */
export function startWasi(planPath: string, cropPath: string): number {
  const files = [planPath, cropPath].map((f) => path.resolve(f));
  const preopens: Record<string, string> = {};
  for (const f of files) preopens[path.dirname(f)] = path.dirname(f);
  const wasi = new WASI({
    version: "preview1",
    args: ["engine-wasi", ...files],
    preopens,
    returnOnExit: true,
  });
  const module = new WebAssembly.Module(fs.readFileSync(WASI_WASM));
  const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
  return wasi.start(instance);
}

const SELF = fileURLToPath(import.meta.url);

/**
 * Runs the WASI module in a child process (`node dist/wasi-run.js PLAN CROP`), as a plain WASI
 * runtime would: its own memory, stdio and exit code.
 */
export function runWasi(planPath: string, cropPath: string): WasiResult {
  const r = spawnSync(process.execPath, ["--no-warnings", SELF, planPath, cropPath], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The probabilities of the module's output lines ("index<TAB>probability<TAB>float32 bits"). */
export function parseWasiOutput(stdout: string): Float32Array {
  const lines = stdout.trim().split("\n");
  const out = new Float32Array(lines.length);
  const bits = new Uint32Array(out.buffer);
  lines.forEach((l, i) => {
    const f = l.split("\t");
    if (f.length !== 3 || Number(f[0]) !== i || !/^[0-9a-f]{8}$/.test(f[2]!))
      throw new Error(`WASI module output line ${i + 1} is not "index<TAB>probability<TAB>bits": ${l}`);
    bits[i] = Number.parseInt(f[2]!, 16);
  });
  return out;
}

/**
 * Classifies `crop` under the WASI module with a model loaded with wasiLoadOptions: writes its
 * plan file (to `savePlan` when given, else a temporary file) and the crop, runs the module.
 */
export function classifyLoaded(model: Model, crop: Float32Array, savePlan?: string): Float32Array {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "engine-wasi-"));
  try {
    const planPath = savePlan ?? path.join(tmp, "model.plan");
    fs.writeFileSync(planPath, planFileBytes(model));
    const cropPath = path.join(tmp, "crop.f32");
    fs.writeFileSync(cropPath, new Uint8Array(crop.buffer, crop.byteOffset, crop.byteLength));
    const r = runWasi(planPath, cropPath);
    if (r.code !== 0) throw new WasiError(r.stderr.trim() || `WASI module exited with code ${r.code}`);
    return parseWasiOutput(r.stdout);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  const args = process.argv.slice(2);
  if (args.length !== 2 || args[0] === "--help") {
    process.stderr.write("usage: node dist/wasi-run.js PLAN CROP.f32\n");
    process.exitCode = 2;
  } else {
    process.exitCode = startWasi(args[0]!, args[1]!);
  }
}
