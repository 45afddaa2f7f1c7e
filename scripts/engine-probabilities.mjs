#!/usr/bin/env node
/**
 * Dumps the engine's probabilities, bit for bit, for a set of models, variants, thread counts
 * and kernel builds, so that a change to the engine can be checked to leave every result
 * unchanged.
 *
 *   node scripts/engine-probabilities.mjs models DIR        write the model files (FP32 + variants)
 *   node scripts/engine-probabilities.mjs dump DIR OUT.json run every model file in DIR
 *   node scripts/engine-probabilities.mjs compare A.json B.json
 *
 * The models: random ResNet-50 and ResNet-152 (narrow, small input), a random ResNet-18, each
 * with its fp16, dynamic, int8-tensor, int8 and mixed variants from the quantizer, a "cycle"
 * variant whose layers take f32, f16, dynamic, int8 and int4 in turn (every conversion between
 * precisions), and the
 * trained-format fixture of apps/pi-runner. The files are written once and reused, so that a
 * dump before and after a change runs exactly the same bytes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createRandomModel, loadModel, randomCrop, readModel, writeModel } from "@edge-audio/engine-wasm";
import { buildVariant, quantizeModel } from "@edge-audio/quantizer";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURE = path.join(root, "apps/pi-runner/test/fixtures/old-model-r18w0625.eam");
const RANDOM = [
  {
    name: "r152",
    config: { depth: 152, width: 0.125, inputHeight: 48, inputWidth: 40, numClasses: 10 },
    seed: 3,
  },
  {
    name: "r50",
    config: { depth: 50, width: 0.25, inputHeight: 64, inputWidth: 56, numClasses: 10 },
    seed: 5,
  },
  {
    name: "r18",
    config: { depth: 18, width: 0.5, inputHeight: 64, inputWidth: 66, numClasses: 12 },
    seed: 7,
  },
];
const MODES = ["fp16", "dynamic", "int8-tensor", "int8", "mixed"];
/** Kernel build, threads and Winograd of each run (every thread count on both builds, plus direct 3x3). */
const RUNS = [
  ...["simd", "scalar"].flatMap((isa) => [1, 2, 3].map((threads) => ({ isa, threads, winograd: true }))),
  { isa: "simd", threads: 1, winograd: false },
  { isa: "simd", threads: 2, winograd: false },
];
const CROPS = 3;

async function writeModels(dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(FIXTURE, path.join(dir, "fixture-r18w0625.eam"));
  for (const m of RANDOM) {
    const fp32 = path.join(dir, `${m.name}-fp32.eam`);
    writeModel(fp32, createRandomModel(m.config, m.seed));
    const n = m.config.inputHeight * m.config.inputWidth;
    const crops = Array.from({ length: 8 }, (_, i) => randomCrop(n, 100 + i));
    for (const mode of MODES) {
      const out = path.join(dir, `${m.name}-${mode}.eam`);
      const t0 = performance.now();
      await quantizeModel(fp32, mode, {
        out,
        crops,
        threads: 1,
        ...(mode === "mixed" ? { budgetAccuracy: 5, sensitivityCrops: 4 } : {}),
      });
      console.log(`${path.basename(out)}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    writeModel(
      path.join(dir, `${m.name}-cycle.eam`),
      cycleVariant(fp32, path.join(dir, `${m.name}-int8.eam`)),
    );
  }
}

/** Layers in f32, f16, dynamic, int8, int4 in turn, with the int8 variant's activation parameters. */
function cycleVariant(fp32Path, int8Path) {
  const src = readModel(fp32Path);
  const cycle = ["f32", "f16", "dynamic", "int8", "int4"];
  const layers = Object.fromEntries(
    src.graph.layers
      .filter((l) => l.op !== "dropout" && l.op !== "softmax")
      .map((l, i) => [l.name, cycle[i % 5]]),
  );
  const activations = readModel(int8Path).metadata.get("quant.activations");
  return buildVariant(src, { mode: "mixed", layers, perChannel: true, activations });
}

const hex = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");

async function dump(dir, outPath) {
  const out = {};
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".eam"))
    .sort()) {
    for (const run of RUNS) {
      const model = await loadModel(path.join(dir, file), run);
      try {
        for (let c = 0; c < CROPS; c++) {
          const probs = model.run(randomCrop(model.inputSize, 1000 + c));
          out[`${file} ${run.isa} t${run.threads}${run.winograd ? "" : " direct"} crop${c}`] = hex(probs);
        }
      } finally {
        await model.dispose();
      }
    }
  }
  fs.writeFileSync(outPath, `${JSON.stringify(out, null, 1)}\n`);
  console.log(`${Object.keys(out).length} probability vectors -> ${outPath}`);
}

function compare(aPath, bPath) {
  const a = JSON.parse(fs.readFileSync(aPath, "utf8"));
  const b = JSON.parse(fs.readFileSync(bPath, "utf8"));
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const differ = [...keys].filter((k) => a[k] !== b[k]);
  for (const k of differ.slice(0, 20)) console.log(`differs: ${k}`);
  console.log(`${keys.size} probability vectors compared, ${differ.length} differ`);
  process.exitCode = differ.length === 0 ? 0 : 1;
}

const [cmd, x, y] = process.argv.slice(2);
if (cmd === "models" && x) await writeModels(x);
else if (cmd === "dump" && x && y) await dump(x, y);
else if (cmd === "compare" && x && y) compare(x, y);
else {
  console.error("usage: engine-probabilities.mjs models DIR | dump DIR OUT.json | compare A.json B.json");
  process.exitCode = 2;
}
