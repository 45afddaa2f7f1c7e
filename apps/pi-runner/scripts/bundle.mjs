#!/usr/bin/env node
// Bundles the runner into one folder, bundle/, which is what the `pi-runner` command and the
// single-file executables run:
//   bundle/dist/cli.cjs     the runner with @edge-audio/common, dsp and engine-wasm (esbuild, CommonJS)
//   bundle/dist/worker.js   the engine's worker thread
//   bundle/dist/decode-worker.js  eval's decoding thread (src/decode-ahead.ts)
//   bundle/build/*.wasm     the engine's and the Mel front-end's WebAssembly modules
//   bundle/package.json     the runner's name and version, for `pi-runner --version`
// One file instead of some ninety ES modules: Node's ES module loader keeps a record, a source
// string and bytecode per module, and that costs the runner about 3 MiB of resident memory.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const app = resolve(here, "..");
const require = createRequire(import.meta.url);

/** The runner's entry file inside a bundle folder. */
export const BUNDLE_ENTRY = "dist/cli.cjs";

/** Writes the bundle folder `dir` (default apps/pi-runner/bundle) and returns its file list. */
export async function bundleRunner(dir = join(app, "bundle")) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "dist"), { recursive: true });
  mkdirSync(join(dir, "build"), { recursive: true });
  const options = {
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    logLevel: "warning",
    // the engine and dsp find their wasm modules and the worker relative to import.meta.url
    define: { "import.meta.url": "__edge_audio_import_meta_url" },
    banner: {
      js: 'const __edge_audio_import_meta_url = require("node:url").pathToFileURL(__filename).href;',
    },
  };
  const engineDir = dirname(dirname(require.resolve("@edge-audio/engine-wasm"))); // <pkg>/dist/index.js
  const dspDir = dirname(dirname(require.resolve("@edge-audio/dsp")));
  await build({ ...options, entryPoints: [join(app, "dist/cli.js")], outfile: join(dir, BUNDLE_ENTRY) });
  await build({
    ...options,
    entryPoints: [join(engineDir, "dist/worker.js")],
    outfile: join(dir, "dist/worker.js"),
  });
  await build({
    ...options,
    entryPoints: [join(app, "dist/decode-worker.js")],
    outfile: join(dir, "dist/decode-worker.js"),
  });
  const files = [BUNDLE_ENTRY, "dist/worker.js", "dist/decode-worker.js"];
  for (const pkgDir of [engineDir, dspDir]) {
    for (const f of readdirSync(join(pkgDir, "build"))) {
      if (!f.endsWith(".wasm")) continue;
      copyFileSync(join(pkgDir, "build", f), join(dir, "build", f));
      files.push(`build/${f}`);
    }
  }
  const runnerPackage = JSON.parse(readFileSync(join(app, "package.json"), "utf8"));
  const bundlePackage = { name: runnerPackage.name, version: runnerPackage.version, type: "commonjs" };
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(bundlePackage)}\n`);
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await bundleRunner();
