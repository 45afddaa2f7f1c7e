/**
 * Calibration through the engine: the FP32 model runs on calibration crops with every activation
 * kept readable, and one RangeObserver per tensor sees them all.
 */
import { type EamGraph, loadModel } from "@edge-audio/engine-wasm";
import { RangeObserver } from "./observers.js";
import { type ActivationQuant, nameRecord, toActivationQuant } from "./variants.js";

/** Names of the graph input and every layer output except dropout (which aliases its input). */
export function activationNames(g: EamGraph): string[] {
  return [g.input, ...g.layers.filter((l) => l.op !== "dropout" && l.op !== "softmax").map((l) => l.name)];
}

export interface Calibration {
  observers: Map<string, RangeObserver>;
  crops: number;
}

export async function calibrate(
  modelPath: string,
  crops: Float32Array[],
  opts: { threads?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<Calibration> {
  if (crops.length === 0) throw new Error("calibration needs at least one crop");
  const probe = await loadModel(modelPath, { threads: 1 });
  const names = activationNames(probe.graph);
  await probe.dispose();
  const model = await loadModel(modelPath, { threads: opts.threads ?? 1, keep: names });
  const observers = new Map(names.map((n) => [n, new RangeObserver()]));
  try {
    crops.forEach((c, i) => {
      model.run(c);
      for (const n of names) observers.get(n)!.observe(model.read(n));
      opts.onProgress?.(i + 1, crops.length);
    });
  } finally {
    await model.dispose();
  }
  return { observers, crops: crops.length };
}

/**
 * Activation parameters per tensor: `auto` picks, per tensor, the method (min/max, percentile,
 * MSE) with the smallest expected INT8 error on what was observed.
 */
export function activationRanges(
  cal: Calibration,
  method: "auto" | "minmax" | "percentile" | "mse" = "auto",
  percentile = 99.99,
): Record<string, ActivationQuant> {
  const out = nameRecord<ActivationQuant>();
  for (const [n, o] of cal.observers) {
    if (method === "auto") {
      const b = o.bestMethod(percentile);
      out[n] = toActivationQuant(b.range.lo, b.range.hi, b.method);
    } else {
      const r = o.range(method, percentile);
      out[n] = toActivationQuant(r.lo, r.hi, method);
    }
  }
  return out;
}
