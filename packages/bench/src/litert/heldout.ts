#!/usr/bin/env node
import { mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
/**
 * The study's INT8 collapse, checked on a trained model: each variant (FP32, our per-tensor
 * int8 `int8-tensor` = the study's setting, our per-channel `int8`) is exported to TFLite and run
 * in LiteRT.js on the model's held-out clips, beside our engine on the same crops.
 *
 *   node dist/litert/heldout.js --model m.eam --data DIR [--modes fp32,int8-tensor,int8]
 *        [--calib-crops 64] [--work DIR] [--json]
 */
import { argmax } from "@edge-audio/common";
import { loadModel, readModelHeader } from "@edge-audio/engine-wasm";
import { clipCrops, exportModel, quantizeModel, splitClips } from "@edge-audio/quantizer";
import { LiteRtRunner } from "./runner.js";

const HELP = `usage: node dist/litert/heldout.js --model M.eam --data DIR [--modes fp32,int8-tensor,int8]
       [--calib-crops N] [--work DIR] [--json]

Quantizes the FP32 model (calibration on the training clips of DIR), exports every variant to
TFLite and classifies the model's held-out clips with LiteRT.js and with our engine.
`;

interface Row {
  mode: string;
  runtime: "engine" | "litert";
  clips: number;
  crops: number;
  clipAccuracy: number;
  cropAccuracy: number;
  /** Crops whose top class equals the engine's (litert rows). */
  agreementWithEngine: number | null;
}

async function variantFile(model: string, mode: string, data: string, work: string, calibCrops: number) {
  if (mode === "fp32") return model;
  const out = join(work, `${basename(model, ".eam")}-${mode}.eam`);
  await quantizeModel(model, mode as "int8", { out, calib: data, calibCrops });
  return out;
}

async function evaluate(path: string, mode: string, data: string, log: (s: string) => void): Promise<Row[]> {
  const header = readModelHeader(path);
  const { test } = splitClips(data, header);
  const [H, W, C] = header.graph.inputShape as [number, number, number];
  const tfl = exportModel(path, { to: "tflite", out: path.replace(/\.eam$/, ".tflite") });
  const lrt = new LiteRtRunner({ modelPath: tfl.out!, inputDims: [1, H, W, C], threads: 1 });
  await lrt.load();
  const engine = await loadModel(path, { threads: 1 });
  const tally = { engine: { clip: 0, crop: 0 }, litert: { clip: 0, crop: 0 }, agree: 0, crops: 0 };
  for (const [i, clip] of test.entries()) {
    const label = header.labels.indexOf(clip.label);
    const mean = {
      engine: new Float64Array(header.labels.length),
      litert: new Float64Array(header.labels.length),
    };
    for (const crop of await clipCrops(clip, header.mel!, H, W)) {
      const pe = engine.run(crop);
      const pl = await lrt.run(crop);
      tally.crops++;
      tally.engine.crop += Number(argmax(pe) === label);
      tally.litert.crop += Number(argmax(pl) === label);
      tally.agree += Number(argmax(pe) === argmax(pl));
      for (let k = 0; k < pe.length; k++) {
        mean.engine[k] += pe[k]!;
        mean.litert[k] += pl[k]!;
      }
    }
    tally.engine.clip += Number(argmax(mean.engine) === label);
    tally.litert.clip += Number(argmax(mean.litert) === label);
    log(`${mode}: clip ${i + 1}/${test.length}`);
  }
  await engine.dispose();
  await lrt.dispose();
  const row = (runtime: "engine" | "litert"): Row => ({
    mode,
    runtime,
    clips: test.length,
    crops: tally.crops,
    clipAccuracy: tally[runtime].clip / test.length,
    cropAccuracy: tally[runtime].crop / tally.crops,
    agreementWithEngine: runtime === "litert" ? tally.agree / tally.crops : null,
  });
  return [row("engine"), row("litert")];
}

function markdown(rows: Row[], load: number[]): string {
  const pc = (x: number) => `${(100 * x).toFixed(1)} %`;
  const lines = [
    `Load average at the end ${load.map((v) => v.toFixed(2)).join(" ")}.`,
    "",
    "| variant | runtime | clip accuracy | crop accuracy | top-1 agreement with our engine (crops) |",
    "| --- | --- | ---: | ---: | ---: |",
  ];
  for (const r of rows)
    lines.push(
      `| ${r.mode} | ${r.runtime === "engine" ? "our engine" : "LiteRT.js (exported .tflite)"} | ${pc(r.clipAccuracy)} (${r.clips} clips) | ${pc(r.cropAccuracy)} (${r.crops} crops) | ${r.agreementWithEngine === null ? "-" : pc(r.agreementWithEngine)} |`,
    );
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      data: { type: "string" },
      modes: { type: "string" },
      "calib-crops": { type: "string" },
      work: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.model || !values.data)
    throw new Error("--model M.eam and --data DIR are required (see --help)");
  const work = values.work ?? "out/heldout";
  mkdirSync(work, { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const rows: Row[] = [];
  for (const mode of (values.modes ?? "fp32,int8-tensor,int8").split(",")) {
    const path = await variantFile(
      values.model,
      mode,
      values.data,
      work,
      Number(values["calib-crops"] ?? 64),
    );
    rows.push(...(await evaluate(path, mode, values.data, log)));
  }
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ rows, loadAvg: loadavg() }, null, 2)}\n`
      : `${markdown(rows, loadavg())}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`heldout: ${e.message}\n`);
    process.exit(2);
  },
);
