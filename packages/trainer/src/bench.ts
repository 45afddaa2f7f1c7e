/**
 * Training throughput of the backends on the same model: identical initial weights, identical
 * random crops, the same optimizer step, measured one backend after the other in one process.
 */
import { type ArchConfig, defaultArchConfig, parseArchName } from "@edge-audio/engine-wasm";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, setupBackend } from "./backend.js";
import { buildModel } from "./model.js";
import { Rng } from "./rng.js";

export interface ThroughputOptions {
  backends: BackendName[];
  arch: string;
  width: number;
  batchSize: number;
  /** Timed steps per backend (after one untimed warm-up step). */
  steps: number;
  inputHeight?: number;
  inputWidth?: number;
  seed?: number;
}

export interface ThroughputResult {
  backend: BackendName;
  arch: ArchConfig;
  batchSize: number;
  steps: number;
  secondsPerStep: number;
  cropsPerSecond: number;
  firstLoss: number;
}

export async function measureTrainingThroughput(opts: ThroughputOptions): Promise<ThroughputResult[]> {
  const arch = defaultArchConfig({
    depth: parseArchName(opts.arch),
    width: opts.width,
    inputHeight: opts.inputHeight ?? 128,
    inputWidth: opts.inputWidth ?? 130,
  });
  const rng = new Rng(opts.seed ?? 1);
  const B = opts.batchSize;
  const size = arch.inputHeight * arch.inputWidth;
  const x = Float32Array.from({ length: B * size }, () => rng.normal() * 10 - 30);
  const y = new Float32Array(B * arch.numClasses);
  for (let i = 0; i < B; i++) y[i * arch.numClasses + (i % arch.numClasses)] = 1;
  const results: ThroughputResult[] = [];
  let initial: tf.Tensor[] | undefined;
  for (const backend of opts.backends) {
    await setupBackend(backend);
    const { model } = buildModel(arch, opts.seed ?? 1);
    if (initial) model.setWeights(initial.map((t) => tf.tensor(t.dataSync(), t.shape)));
    else initial = model.getWeights().map((t) => tf.tensor(t.dataSync(), t.shape));
    const logits = tf.model({
      inputs: model.inputs,
      outputs: model.getLayer("head_dense").output as tf.SymbolicTensor,
    });
    const opt = tf.train.adam(1e-3);
    const xt = tf.tensor4d(x, [B, arch.inputHeight, arch.inputWidth, 1]);
    const yt = tf.tensor2d(y, [B, arch.numClasses]);
    const step = async () => {
      const loss = opt.minimize(
        () =>
          tf.losses.softmaxCrossEntropy(yt, logits.apply(xt, { training: true }) as tf.Tensor) as tf.Scalar,
        true,
      )!;
      const v = (await loss.data())[0]!;
      loss.dispose();
      return v;
    };
    const firstLoss = await step();
    const t0 = performance.now();
    for (let s = 0; s < opts.steps; s++) await step();
    const seconds = (performance.now() - t0) / 1000;
    results.push({
      backend,
      arch,
      batchSize: B,
      steps: opts.steps,
      secondsPerStep: seconds / opts.steps,
      cropsPerSecond: (opts.steps * B) / seconds,
      firstLoss,
    });
    tf.dispose([xt, yt]);
    opt.dispose();
    model.dispose();
  }
  return results;
}
