#!/usr/bin/env node
/**
 * Runs the stand-alone WASI build (build/engine-wasi.wasm) under node:wasi:
 *   node dist/wasi-run.js MODEL.eam [CROP.f32]
 * The directories of the given files are preopened at the same paths inside the sandbox.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";

export const WASI_WASM = fileURLToPath(new URL("../build/engine-wasi.wasm", import.meta.url));

export function runWasi(files: string[]): number {
  const abs = files.map((f) => path.resolve(f));
  const preopens: Record<string, string> = {};
  for (const f of abs) preopens[path.dirname(f)] = path.dirname(f);
  const wasi = new WASI({ version: "preview1", args: ["engine-wasi", ...abs], preopens, returnOnExit: true });
  const module = new WebAssembly.Module(fs.readFileSync(WASI_WASM));
  const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
  return wasi.start(instance);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const files = process.argv.slice(2);
  if (files.length === 0 || files[0] === "--help") {
    process.stdout.write("usage: node dist/wasi-run.js MODEL.eam [CROP.f32]\n");
  } else {
    process.exitCode = runWasi(files);
  }
}
