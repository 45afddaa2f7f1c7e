#!/usr/bin/env node
import { existsSync, mkdirSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
/**
 * Exported models beside the engine, at full size: ResNet-152 / ResNet-50 (random weights, the
 * compare suite's files), each variant exported to TFLite (LiteRT.js, compat build) and ONNX
 * (onnxruntime-node), run on the same crops as our engine.
 *
 *   node dist/litert/crosscheck.js [--depth 152,50] [--crops 4] [--work out/compare] [--json]
 *
 * Per variant: the largest probability difference against the engine; for int8 also top-1
 * agreement, the largest difference of the last int8 tensor (the final residual block's output)
 * in its quantization steps, against the engine as it runs (residual adds fused into the conv
 * before them) and op by op (those convs' outputs kept, so each add reads rounded int8 inputs as
 * TFLite's do), and the largest logit difference.
 */
import { argmax } from "@edge-audio/common";
import { createRandomModel, loadModel, randomCrop, readModel, writeModel } from "@edge-audio/engine-wasm";
import { exportModel, quantizeModel } from "@edge-audio/quantizer";
import * as ort from "onnxruntime-node";
import { maxDiff } from "../compare/run.js";
import { LiteRtRunner } from "./runner.js";

const VARIANTS = ["fp32", "fp16", "dynamic", "int8"];

interface CheckRow {
  model: string;
  variant: string;
  runtime: "litert" | "onnxruntime-node";
  crops: number;
  maxProbDiff: number;
  top1Agreement: number;
  maxLogitDiff: number | null;
  /** int8: last int8 tensor, max |q - q_engine| (engine as it runs / op by op). */
  stepsFused: number | null;
  stepsOpByOp: number | null;
}

const steps = (a: ArrayLike<number>, b: ArrayLike<number>, s: number) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Math.round(a[i]! / s) - Math.round(b[i]! / s)));
  return m;
};

/** The compare suite's files for this depth (made here when absent). */
async function files(depth: number, work: string, log: (s: string) => void): Promise<Map<string, string>> {
  const tag = `resnet${depth}-w1-128x130`;
  const fp32 = join(work, `${tag}-fp32.eam`);
  if (!existsSync(fp32))
    writeModel(
      fp32,
      createRandomModel({ depth: depth as 152, width: 1, inputHeight: 128, inputWidth: 130 }, 1),
    );
  const out = new Map([["fp32", fp32]]);
  const calib = Array.from({ length: 8 }, (_, i) => randomCrop(128 * 130, 5000 + i));
  for (const v of VARIANTS.slice(1)) {
    const p = join(work, `${tag}-${v}.eam`);
    if (!existsSync(p)) {
      log(`ResNet-${depth}: quantizing ${v}`);
      await quantizeModel(fp32, v as "int8", { out: p, crops: calib, threads: 1 });
    }
    out.set(v, p);
  }
  return out;
}

async function checkVariant(
  model: string,
  variant: string,
  path: string,
  crops: Float32Array[],
): Promise<CheckRow[]> {
  const f = readModel(path);
  const layers = f.graph.layers;
  const last = layers.filter((l) => l.op === "add").at(-1)!.name;
  const int8 = variant === "int8";
  const keep = int8 ? [last, "head.dense"] : ["head.dense"];
  const convsIntoAdds = layers
    .filter((l) => l.op === "add")
    .flatMap((l) => (l.op === "add" ? l.inputs : []))
    .filter((n) => layers.find((x) => x.name === n)?.op === "conv");
  const engine = await loadModel(path, { threads: 1, keep });
  const opByOp = int8 ? await loadModel(path, { threads: 1, keep: [...keep, ...convsIntoAdds] }) : null;
  const tfl = exportModel(path, {
    to: "tflite",
    out: path.replace(/\.eam$/, "-check.tflite"),
    extraOutputs: keep,
  });
  const lrt = new LiteRtRunner({ modelPath: tfl.out!, inputDims: [1, 128, 130, 1], threads: 1 });
  await lrt.load();
  const onnx = exportModel(path, {
    to: "onnx",
    out: path.replace(/\.eam$/, "-check.onnx"),
    extraOutputs: ["head.dense"],
  });
  const session = await ort.InferenceSession.create(onnx.out!, { intraOpNumThreads: 1 });
  const scale = int8
    ? (f.metadata.get("quant.activations") as Record<string, { scale: number }>)[last]!.scale
    : 1;
  const acc = {
    litert: { p: 0, l: 0, agree: 0, fused: 0, op: 0 },
    "onnxruntime-node": { p: 0, l: 0, agree: 0, fused: 0, op: 0 },
  };
  for (const x of crops) {
    const pe = engine.run(x);
    const le = engine.read("head.dense");
    opByOp?.run(x);
    const outs = await lrt.runAll(x);
    const o = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, [1, 128, 130, 1]) });
    const po = o[session.outputNames[0]!]!.data as Float32Array;
    const lo = o[session.outputNames[1]!]!.data as Float32Array;
    const lt = outs[int8 ? 2 : 1]!;
    for (const [k, p, l] of [["litert", outs[0]!, lt] as const, ["onnxruntime-node", po, lo] as const]) {
      acc[k].p = Math.max(acc[k].p, maxDiff(p, pe));
      acc[k].l = Math.max(acc[k].l, maxDiff(l, le));
      acc[k].agree += Number(argmax(p) === argmax(pe));
    }
    if (int8) {
      acc.litert.fused = Math.max(acc.litert.fused, steps(outs[1]!, engine.read(last), scale));
      acc.litert.op = Math.max(acc.litert.op, steps(outs[1]!, opByOp!.read(last), scale));
    }
  }
  await engine.dispose();
  await opByOp?.dispose();
  await lrt.dispose();
  await session.release();
  return (["litert", "onnxruntime-node"] as const).map((runtime) => ({
    model,
    variant,
    runtime,
    crops: crops.length,
    maxProbDiff: acc[runtime].p,
    top1Agreement: acc[runtime].agree / crops.length,
    maxLogitDiff: acc[runtime].l,
    stepsFused: int8 && runtime === "litert" ? acc.litert.fused : null,
    stepsOpByOp: int8 && runtime === "litert" ? acc.litert.op : null,
  }));
}

function markdown(rows: CheckRow[]): string {
  const e = (x: number) => x.toExponential(1);
  const lines = [
    "| model | variant | runtime | crops | max prob. diff | top-1 agreement | max logit diff | last int8 tensor: steps vs engine (fused / op by op) |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows)
    lines.push(
      `| ${r.model} | ${r.variant} | ${r.runtime} | ${r.crops} | ${e(r.maxProbDiff)} | ${(100 * r.top1Agreement).toFixed(0)} % | ${r.maxLogitDiff === null ? "-" : e(r.maxLogitDiff)} | ${r.stepsFused === null ? "-" : `${r.stepsFused} / ${r.stepsOpByOp}`} |`,
    );
  return lines.join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      depth: { type: "string" },
      crops: { type: "string" },
      work: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: node dist/litert/crosscheck.js [--depth 152,50] [--crops 4] [--work out/compare] [--json]\n",
    );
    return 0;
  }
  const work = values.work ?? "out/compare";
  mkdirSync(work, { recursive: true });
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const crops = Array.from({ length: Number(values.crops ?? 4) }, (_, i) => randomCrop(128 * 130, 9000 + i));
  const rows: CheckRow[] = [];
  for (const depth of (values.depth ?? "152,50").split(",").map(Number)) {
    const paths = await files(depth, work, log);
    for (const v of VARIANTS) {
      log(`ResNet-${depth} ${v}`);
      rows.push(...(await checkVariant(`ResNet-${depth}`, v, paths.get(v)!, crops)));
    }
  }
  const load = loadavg();
  process.stdout.write(
    values.json
      ? `${JSON.stringify({ rows, loadAvg: load }, null, 2)}\n`
      : `${markdown(rows)}\n\nload average ${load.map((v) => v.toFixed(2)).join(" ")}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`crosscheck: ${e.message}\n`);
    process.exit(2);
  },
);
