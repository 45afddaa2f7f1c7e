// ResNet-152 (random weights, 1x128x130 crop): file sizes of every variant, and engine time of
// fp32 / fp16 / dynamic / int8 against each other and against the tfjs wasm backend, all in one
// process with the runs interleaved round-robin so that the shared machine's load hits all alike.
// Prints figures; asserts nothing.
//
//   node packages/quantizer/scripts/bench-resnet152.mjs [--depth 152] [--runs 7] [--crops 32] [--threads 1] [--no-tfjs]
//        [--mixed-size MB [--sens-crops 2]]   (also a mixed variant under that size budget; slow: 2 runs per layer)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { loadModel, randomCrop, readModel, writeRandomModel } from "@edge-audio/engine-wasm";
import { quantizeModel, sqnrDb } from "../dist/index.js";

const { values } = parseArgs({
  options: {
    depth: { type: "string", default: "152" },
    runs: { type: "string", default: "7" },
    threads: { type: "string", default: "1" },
    crops: { type: "string", default: "32" },
    "no-tfjs": { type: "boolean" },
    "mixed-size": { type: "string" },
    "sens-crops": { type: "string", default: "2" },
    dir: { type: "string" },
  },
});
const depth = Number(values.depth);
const runs = Number(values.runs);
const threads = Number(values.threads);
const dir = values.dir ?? path.join(os.tmpdir(), `edge-audio-bench-resnet${depth}`);
fs.mkdirSync(dir, { recursive: true });
const fp32 = path.join(dir, `resnet${depth}.eam`);
if (!fs.existsSync(fp32)) writeRandomModel(fp32, { depth }, 1);
const n = 128 * 130;
const calib = Array.from({ length: 8 }, (_, i) => randomCrop(n, 1000 + i));
const tests = Array.from({ length: Number(values.crops) }, (_, i) => randomCrop(n, 2000 + i));

const files = { fp32 };
const sizes = { fp32: fs.statSync(fp32).size };
for (const mode of ["fp16", "dynamic", "int8-tensor", "int8"]) {
  const t0 = performance.now();
  const r = await quantizeModel(fp32, mode, {
    out: path.join(dir, `resnet${depth}-${mode}.eam`),
    crops: calib,
  });
  files[mode] = r.out;
  sizes[mode] = r.bytes;
  console.error(
    `${mode}: ${(r.bytes / 1e6).toFixed(2)} MB, quantized in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

if (values["mixed-size"]) {
  const t0 = performance.now();
  const r = await quantizeModel(fp32, "mixed", {
    out: path.join(dir, `resnet${depth}-mixed.eam`),
    crops: calib,
    budgetSizeMB: Number(values["mixed-size"]),
    sensitivityCrops: Number(values["sens-crops"]),
    onProgress: (s, d, t) => d % 20 === 0 && console.error(`mixed: ${s} ${d}/${t}`),
  });
  files.mixed = r.out;
  sizes.mixed = r.bytes;
  console.error(
    `mixed: ${(r.bytes / 1e6).toFixed(2)} MB (${JSON.stringify(r.precision)}), ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
}
const engines = {};
for (const mode of ["fp32", "fp16", "dynamic", "int8-tensor", "int8", ...(files.mixed ? ["mixed"] : [])]) {
  engines[mode] = await loadModel(files[mode], { threads, keep: ["head.dense"] });
}
let tfjs = null;
if (!values["no-tfjs"]) {
  try {
    const { initTfjsWasm, buildTfjsModel } = await import("../../bench/dist/engine/tfjs.js");
    await initTfjsWasm(1);
    const m = readModel(fp32);
    tfjs = buildTfjsModel(m.graph, (k) => m.tensorData.get(k));
  } catch (e) {
    console.error(`tfjs-wasm not available (${e.message}); build packages/bench first`);
  }
}
const runners = Object.entries(engines).map(([k, m]) => [k, (x) => m.run(x)]);
if (tfjs) runners.push(["tfjs-wasm", (x) => tfjs.run(x)]);
for (const [, f] of runners) f(tests[0]); // warm-up
const times = Object.fromEntries(runners.map(([k]) => [k, []]));
for (let r = 0; r < runs; r++) {
  for (const [k, f] of runners) {
    const t0 = performance.now();
    f(tests[r % tests.length]);
    times[k].push(performance.now() - t0);
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const ms = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, med(v)]));
// Accuracy against FP32 on the test crops.
const logits = {};
for (const [k, m] of Object.entries(engines))
  logits[k] = tests.map((x) => {
    m.run(x);
    return m.read("head.dense");
  });
const argmax = (v) => v.indexOf(Math.max(...v));
const lines = [
  `ResNet-${depth}, 1x128x130, ${threads} engine thread(s), tfjs-wasm 1 thread, ${runs} interleaved runs, median; load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" / ")}`,
  "",
  `| variant | file size | ms per crop | speed-up vs engine fp32 | speed-up vs tfjs-wasm | SQNR of logits vs fp32 | top-1 agreement (${tests.length} crops) |`,
  "| --- | --- | --- | --- | --- | --- | --- |",
];
for (const k of ["fp32", "fp16", "dynamic", "int8-tensor", "int8", "mixed", "tfjs-wasm"]) {
  if (k === "mixed" && !files.mixed) continue;
  const size = sizes[k] !== undefined ? `${(sizes[k] / 1e6).toFixed(1)} MB` : "-";
  const t = ms[k];
  const l = logits[k];
  const sq =
    l && k !== "fp32"
      ? `${sqnrDb(
          logits.fp32.flatMap((x) => [...x]),
          l.flatMap((x) => [...x]),
        ).toFixed(1)} dB`
      : "-";
  const ag =
    l && k !== "fp32"
      ? `${l.filter((x, i) => argmax([...x]) === argmax([...logits.fp32[i]])).length}/${tests.length}`
      : "-";
  lines.push(
    `| ${k} | ${size} | ${t ? t.toFixed(1) : "-"} | ${t ? (ms.fp32 / t).toFixed(2) : "-"} | ${t && ms["tfjs-wasm"] ? (ms["tfjs-wasm"] / t).toFixed(2) : "-"} | ${sq} | ${ag} |`,
  );
}
console.log(lines.join("\n"));
for (const m of Object.values(engines)) await m.dispose();
tfjs?.dispose();
