#!/usr/bin/env node
/**
 * Peak memory of `pi-runner classify` on long WAV files: writes synthetic recordings of the given
 * lengths into a temp folder (streamed to disk, never held whole), classifies each in a separate
 * process and reports the process's peak resident memory (VmHWM) and wall time, in streaming
 * mode and (for files up to --clip-max-min minutes) in whole-clip mode for comparison.
 *
 *   node apps/pi-runner/scripts/long-file.mjs [--minutes 10,61] [--rate 22050] [--clip-max-min 10] [--json]
 *
 * Build first (npm run build). Figures on a shared machine are noisy.
 */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { defaultMelConfig } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, "../dist/cli.js");
const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10,61" },
    rate: { type: "string", default: "22050" },
    "clip-max-min": { type: "string", default: "10" },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const rate = Number(values.rate);
const dir = mkdtempSync(join(tmpdir(), "pi-runner-long-"));
const model = join(dir, "m.eam");
const c = createRandomModel({ depth: 18, width: 0.125, numClasses: 10 }, 4);
c.mel = defaultMelConfig();
writeModel(model, c);

/** Writes a 16-bit mono WAV of `seconds` (a chord that changes every 10 s, plus noise) chunk by chunk. */
function writeLongWav(path, seconds) {
  const n = Math.round(seconds * rate);
  const fd = openSync(path, "w");
  const h = new Uint8Array(44);
  const v = new DataView(h.buffer);
  h.set([82, 73, 70, 70]);
  v.setUint32(4, 36 + 2 * n, true);
  h.set([87, 65, 86, 69, 102, 109, 116, 32], 8);
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  h.set([100, 97, 116, 97], 36);
  v.setUint32(40, 2 * n, true);
  writeSync(fd, h);
  const block = 1 << 16;
  const buf = new Int16Array(block);
  let s = 1;
  for (let i0 = 0; i0 < n; i0 += block) {
    const m = Math.min(block, n - i0);
    for (let j = 0; j < m; j++) {
      const i = i0 + j;
      const f = 110 * (1 + (Math.floor(i / (10 * rate)) % 7));
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const x =
        0.25 * Math.sin((2 * Math.PI * f * i) / rate) + 0.1 * Math.sin((2 * Math.PI * 2.5 * f * i) / rate);
      buf[j] = Math.round((x + 0.02 * (s / 2 ** 32 - 0.5)) * 32767);
    }
    writeSync(fd, new Uint8Array(buf.buffer, 0, 2 * m));
  }
  closeSync(fd);
}

// Reports VmHWM of the child itself at exit.
const preload = join(dir, "hwm.mjs");
writeFileSync(
  preload,
  `import { readFileSync } from "node:fs";
   process.on("exit", () => { const m = /VmHWM:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"));
     process.stderr.write("VmHWM_KB " + (m ? m[1] : "0") + "\\n"); });`,
);

const rows = [];
for (const minutes of values.minutes.split(",").map(Number)) {
  const file = join(dir, `long-${minutes}min.wav`);
  writeLongWav(file, minutes * 60);
  const bytes = statSync(file).size;
  const modes = minutes <= Number(values["clip-max-min"]) ? ["stream", "clip"] : ["stream"];
  for (const mode of modes) {
    const args = [cli, "classify", "--model", model, "--threads", "1", file];
    if (mode === "stream") args.push("--stream");
    const env = { ...process.env, NODE_OPTIONS: `--import ${preload}` };
    const t0 = performance.now();
    // clip mode on a long file needs the whole decoded clip in memory; allow Node the heap for it
    const r = spawnSync(process.execPath, mode === "clip" ? ["--max-old-space-size=4096", ...args] : args, {
      env,
      encoding: "utf8",
      maxBuffer: 1 << 24,
    });
    const wall = (performance.now() - t0) / 1000;
    const hwm = Number(/VmHWM_KB (\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024;
    let out = {};
    try {
      out = JSON.parse(r.stdout.trim().split("\n")[0]);
    } catch {
      out = { error: (r.stdout + r.stderr).slice(0, 300) };
    }
    rows.push({
      minutes,
      fileMiB: Number((bytes / 2 ** 20).toFixed(1)),
      mode: out.mode ?? mode,
      exit: r.status,
      label: out.label,
      windows: out.crops,
      seconds: out.seconds,
      peakRssMiB: Number(hwm.toFixed(1)),
      wallSeconds: Number(wall.toFixed(1)),
      error: out.error,
    });
  }
  if (!values.keep) rmSync(file, { force: true });
}
if (!values.keep) rmSync(dir, { recursive: true, force: true });
if (values.json) console.log(JSON.stringify({ rate, rows }));
else {
  console.log(`sample rate ${rate} Hz, 16-bit mono; model resnet18 width 0.125 (128x130 input), 1 thread`);
  console.log("minutes  file MiB  mode    windows  peak RSS MiB  wall s  exit");
  for (const r of rows)
    console.log(
      `${String(r.minutes).padStart(7)}  ${String(r.fileMiB).padStart(8)}  ${r.mode.padEnd(6)}  ${String(r.windows ?? "-").padStart(7)}  ${String(r.peakRssMiB).padStart(12)}  ${String(r.wallSeconds).padStart(6)}  ${r.exit}${r.error ? ` ${r.error}` : ""}`,
    );
}
