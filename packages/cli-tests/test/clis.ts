/** The five edge-audio command lines, their commands, and a way to run the built bins. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export interface Cli {
  bin: string;
  /** Package folder, relative to the repository root. */
  dir: string;
}

export const CLIS: Cli[] = [
  { bin: "edge-audio", dir: "packages/trainer" },
  { bin: "edge-audio-quantize", dir: "packages/quantizer" },
  { bin: "edge-audio-dsp", dir: "packages/dsp" },
  { bin: "edge-audio-engine", dir: "packages/engine-wasm" },
  { bin: "pi-runner", dir: "apps/pi-runner" },
];

export const versionOf = (cli: Cli): string =>
  (JSON.parse(readFileSync(join(ROOT, cli.dir, "package.json"), "utf8")) as { version: string }).version;

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command through its committed bin shim (what npm links as node_modules/.bin/NAME). */
export function runBin(cli: Cli, args: string[], cwd = ROOT): Run {
  const r = spawnSync(process.execPath, [join(ROOT, cli.dir, "bin", `${cli.bin}.js`), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, EDGE_AUDIO_DEBUG: "" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
