/**
 * LiteRT.js (`@litertjs/core`, TensorFlow Lite for the web) in plain Node 20. Its loader is
 * written for browsers and workers; three shims make it run here (bench README, "LiteRT.js in
 * Node"):
 *
 * 1. `self` and `importScripts`: the loader runs its wasm glue script with `importScripts(url)`
 *    when that exists and then reads `self.ModuleFactory`. We define `self = globalThis` and an
 *    `importScripts` that `require`s the script and sets `self.ModuleFactory` to its export.
 * 2. The glue scripts are UMD (`module.exports = ModuleFactory`), but the package is
 *    `"type": "module"`, so Node would load them as ES modules. We copy the build's `.js` and
 *    `.wasm` (hard link when possible) into a folder of ours with a `{"type": "commonjs"}`
 *    package.json, and load them from there; the threaded build's workers load the same file.
 * 3. `navigator.hardwareConcurrency`: the threaded build sizes its pthread pool from it (Node 20
 *    has no `navigator`); we report the number of threads asked for.
 *
 * Builds: on Node 20 without flags there is no relaxed SIMD, and LiteRT.js takes the compat
 * build (SIMD128 + XNNPACK, one thread). Its threaded build needs relaxed SIMD: the process must
 * run with `--experimental-wasm-relaxed-simd`; we add `--no-liftoff` too, because Node 20's x64
 * baseline compiler computes `i32x4.relaxed_dot_i8x16_i7x16_add_s` wrongly (design notes).
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export type LiteRtBuild = "compat" | "threaded";

/** Node flags a process needs before it can load each build. */
export const LITERT_EXEC_ARGV: Record<LiteRtBuild, string[]> = {
  compat: [],
  threaded: ["--experimental-wasm-relaxed-simd", "--no-liftoff"],
};

const FILES: Record<LiteRtBuild, string> = {
  compat: "litert_wasm_compat_internal",
  threaded: "litert_wasm_threaded_internal",
};

const require = createRequire(import.meta.url);

export type LiteRtModule = typeof import("@litertjs/core");

/** The folder of LiteRT.js's wasm builds inside node_modules. */
export function liteRtWasmDir(): string {
  return join(dirname(require.resolve("@litertjs/core/package.json")), "wasm");
}

/** Shim 2: the build's glue script and wasm in a CommonJS folder of ours; returns the folder. */
function commonJsCopy(build: LiteRtBuild, cacheDir: string): string {
  const dir = join(cacheDir, `litert-${build}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), '{ "type": "commonjs" }\n');
  for (const ext of [".js", ".wasm"]) {
    const src = join(liteRtWasmDir(), FILES[build] + ext);
    const dst = join(dir, FILES[build] + ext);
    if (existsSync(dst) && statSync(dst).size === statSync(src).size) continue;
    try {
      linkSync(src, dst);
    } catch {
      copyFileSync(src, dst);
    }
  }
  return dir;
}

/** Shims 1 and 3. */
function installGlobals(dir: string, threads: number): void {
  const g = globalThis as Record<string, unknown>;
  g.self ??= globalThis;
  const load = createRequire(join(dir, "loader.js"));
  g.importScripts = (url: string | URL) => {
    const path = String(url).startsWith("file:") ? new URL(String(url)).pathname : String(url);
    g.ModuleFactory = load(path);
  };
  if (typeof g.navigator === "undefined" || g.navigator === null)
    Object.defineProperty(globalThis, "navigator", {
      value: { hardwareConcurrency: threads },
      configurable: true,
    });
  else
    Object.defineProperty(g.navigator as object, "hardwareConcurrency", {
      value: threads,
      configurable: true,
    });
}

let loaded: { build: LiteRtBuild; mod: LiteRtModule } | null = null;

/**
 * Loads LiteRT.js once per process with the given build. The threaded build refuses to load
 * unless the process has relaxed SIMD (see LITERT_EXEC_ARGV).
 */
export async function loadLiteRtNode(
  build: LiteRtBuild,
  threads = 1,
  cacheDir = join(tmpdir(), "edge-audio-litert"),
): Promise<LiteRtModule> {
  if (loaded) {
    if (loaded.build !== build) throw new Error(`LiteRT.js is already loaded with the ${loaded.build} build`);
    return loaded.mod;
  }
  const dir = commonJsCopy(build, cacheDir);
  installGlobals(dir, threads);
  const mod = await import("@litertjs/core");
  await mod.loadLiteRt(`${dir}/`, build === "threaded" ? { threads: true } : undefined);
  loaded = { build, mod };
  return mod;
}
