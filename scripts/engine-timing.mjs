#!/usr/bin/env node
/**
 * A short engine timing: the median time of one crop through random full-size ResNet-50 models
 * (fp32, fp16, dynamic, int8) at 1 and 2 threads, for each engine build given, interleaved so
 * that every build sees the same machine load.
 *
 *   node scripts/engine-timing.mjs DIST_DIR [DIST_DIR...]
 *
 * DIST_DIR is an engine package folder holding dist/ and build/ (e.g. packages/engine-wasm, or
 * a copy of it taken before a change). Run it under `machine-lock exclusive`.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { createRandomModel, randomCrop, writeModel } from "@edge-audio/engine-wasm";
import { quantizeModel } from "@edge-audio/quantizer";

const RUNS = 15;
const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error("usage: engine-timing.mjs DIST_DIR [DIST_DIR...]");
  process.exit(2);
}
const engines = await Promise.all(
  dirs.map(async (d) => import(pathToFileURL(path.resolve(d, "dist/index.js")).href)),
);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "engine-timing-"));
const config = { depth: 50, width: 1, inputHeight: 128, inputWidth: 130, numClasses: 10 };
const fp32 = path.join(tmp, "r50-fp32.eam");
writeModel(fp32, createRandomModel(config, 11));
const n = config.inputHeight * config.inputWidth;
const crops = Array.from({ length: 4 }, (_, i) => randomCrop(n, 200 + i));
const files = { fp32 };
for (const mode of ["fp16", "dynamic", "int8"]) {
  files[mode] = path.join(tmp, `r50-${mode}.eam`);
  await quantizeModel(fp32, mode, { out: files[mode], crops, threads: 1 });
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(
  `load average before: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
console.log(`variant threads ${dirs.map((d) => `${d} (ms)`).join(" | ")} | ratio`);
for (const [variant, file] of Object.entries(files))
  for (const threads of [1, 2]) {
    const models = await Promise.all(engines.map((e) => e.loadModel(file, { threads })));
    const times = models.map(() => []);
    for (let r = 0; r < RUNS + 2; r++)
      models.forEach((m, i) => {
        const t0 = performance.now();
        m.run(crops[r % crops.length]);
        if (r >= 2) times[i].push(performance.now() - t0);
      });
    const med = times.map(median);
    const ratio = med.length > 1 ? (med.at(-1) / med[0]).toFixed(3) : "";
    console.log(`${variant} ${threads} ${med.map((x) => x.toFixed(1)).join(" | ")} | ${ratio}`);
    await Promise.all(models.map((m) => m.dispose()));
  }
console.log(
  `load average after: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
fs.rmSync(tmp, { recursive: true, force: true });
