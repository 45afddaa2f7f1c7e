/**
 * The ResNet family in tfjs layers, built from the engine's single architecture description,
 * and the export of its weights in the engine's FP32 layout (batch-norm folded into the convs).
 */
import { type ArchConfig, type ArchSpec, resnetSpec, weightShapes } from "@edge-audio/engine-wasm";
import * as tf from "@tensorflow/tfjs";

/** Batch-norm epsilon used in training and in folding. */
export const BN_EPSILON = 1e-3;
/** Batch-norm moving-average momentum (lower than Keras' 0.99: our runs are short). */
export const BN_MOMENTUM = 0.9;

export interface BuiltModel {
  spec: ArchSpec;
  model: tf.LayersModel;
}

/** tfjs layer names derived from spec layer names (tfjs wants no dots). */
export function tfLayerName(specName: string, suffix = ""): string {
  return `${specName.replace(/\./g, "_")}${suffix}`;
}

/**
 * Builds a tfjs model from the architecture description. Conv layers with `bn: true` become
 * conv2d (no bias, "same"/"valid" as specified) + batchNormalization (+ ReLU).
 */
export function buildModel(config: ArchConfig, seed = 1): BuiltModel {
  const spec = resnetSpec(config);
  const c = spec.config;
  let seedCounter = seed * 1000;
  const init = (kind: "he" | "glorot") =>
    kind === "he"
      ? tf.initializers.heNormal({ seed: seedCounter++ })
      : tf.initializers.glorotUniform({ seed: seedCounter++ });

  const input = tf.input({ shape: [c.inputHeight, c.inputWidth, c.inChannels], name: "input" });
  const tensors = new Map<string, tf.SymbolicTensor>([[spec.input, input]]);
  const get = (name: string): tf.SymbolicTensor => {
    const t = tensors.get(name);
    if (!t) throw new Error(`architecture: tensor "${name}" is used before it is produced`);
    return t;
  };
  for (const l of spec.layers) {
    let out: tf.SymbolicTensor;
    switch (l.op) {
      case "conv": {
        out = tf.layers
          .conv2d({
            name: tfLayerName(l.name),
            filters: l.filters,
            kernelSize: l.kernel,
            strides: l.stride,
            padding: l.padding,
            useBias: !l.bn,
            kernelInitializer: init("he"),
          })
          .apply(get(l.input)) as tf.SymbolicTensor;
        if (l.bn) {
          out = tf.layers
            .batchNormalization({
              name: tfLayerName(l.name, "_bn"),
              axis: -1,
              epsilon: BN_EPSILON,
              momentum: BN_MOMENTUM,
            })
            .apply(out) as tf.SymbolicTensor;
        }
        if (l.relu) {
          out = tf.layers.reLU({ name: tfLayerName(l.name, "_relu") }).apply(out) as tf.SymbolicTensor;
        }
        break;
      }
      case "maxpool":
        out = tf.layers
          .maxPooling2d({
            name: tfLayerName(l.name),
            poolSize: l.pool,
            strides: l.stride,
            padding: l.padding,
          })
          .apply(get(l.input)) as tf.SymbolicTensor;
        break;
      case "add":
        out = tf.layers
          .add({ name: tfLayerName(l.name) })
          .apply([get(l.inputs[0]), get(l.inputs[1])]) as tf.SymbolicTensor;
        if (l.relu) {
          out = tf.layers.reLU({ name: tfLayerName(l.name, "_relu") }).apply(out) as tf.SymbolicTensor;
        }
        break;
      case "gap":
        out = tf.layers
          .globalAveragePooling2d({ name: tfLayerName(l.name) })
          .apply(get(l.input)) as tf.SymbolicTensor;
        break;
      case "dropout":
        out = tf.layers
          .dropout({ name: tfLayerName(l.name), rate: l.rate, seed: seedCounter++ })
          .apply(get(l.input)) as tf.SymbolicTensor;
        break;
      case "dense":
        out = tf.layers
          .dense({ name: tfLayerName(l.name), units: l.units, kernelInitializer: init("glorot") })
          .apply(get(l.input)) as tf.SymbolicTensor;
        break;
      case "softmax":
        out = tf.layers.softmax({ name: tfLayerName(l.name) }).apply(get(l.input)) as tf.SymbolicTensor;
        break;
    }
    tensors.set(l.name, out);
  }
  const model = tf.model({ inputs: input, outputs: get(spec.output), name: `resnet${c.depth}` });
  return { spec, model };
}

/** Named weights of the whole model (trainable and batch-norm statistics), for checkpoints. */
export function namedWeights(model: tf.LayersModel): Array<{ name: string; tensor: tf.Tensor }> {
  const out: Array<{ name: string; tensor: tf.Tensor }> = [];
  for (const layer of model.layers) {
    for (const w of layer.weights) out.push({ name: w.name, tensor: w.read() });
  }
  return out;
}

/**
 * The weights in the engine's FP32 layout: `${layer}.weight` (conv HWIO with batch-norm folded,
 * dense [in, out]) and `${layer}.bias`. Shapes match `weightShapes(spec)` exactly.
 */
export function exportWeights(built: BuiltModel): Map<string, { shape: number[]; data: Float32Array }> {
  const { spec, model } = built;
  const expected = weightShapes(spec);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const l of spec.layers) {
    if (l.op === "conv") {
      const conv = model.getLayer(tfLayerName(l.name));
      const [kernel, maybeBias] = conv.getWeights();
      const w = kernel!.dataSync() as Float32Array;
      const [kh, kw, cin, cout] = kernel!.shape as [number, number, number, number];
      const weight = new Float32Array(w.length);
      const bias = new Float32Array(cout);
      if (l.bn) {
        const bn = model.getLayer(tfLayerName(l.name, "_bn"));
        const [gamma, beta, mean, variance] = bn.getWeights().map((t) => t.dataSync() as Float32Array);
        const eps = (bn.getConfig().epsilon as number | undefined) ?? BN_EPSILON;
        const scale = new Float64Array(cout);
        for (let o = 0; o < cout; o++) {
          scale[o] = gamma![o]! / Math.sqrt(variance![o]! + eps);
          bias[o] = beta![o]! - mean![o]! * scale[o]!;
        }
        for (let i = 0; i < w.length; i++) weight[i] = w[i]! * scale[i % cout]!;
      } else {
        weight.set(w);
        if (maybeBias) bias.set(maybeBias.dataSync() as Float32Array);
      }
      out.set(`${l.name}.weight`, { shape: [kh, kw, cin, cout], data: weight });
      out.set(`${l.name}.bias`, { shape: [cout], data: bias });
    } else if (l.op === "dense") {
      const dense = model.getLayer(tfLayerName(l.name));
      const [kernel, bias] = dense.getWeights();
      out.set(`${l.name}.weight`, {
        shape: kernel!.shape.slice(),
        data: Float32Array.from(kernel!.dataSync()),
      });
      out.set(`${l.name}.bias`, { shape: bias!.shape.slice(), data: Float32Array.from(bias!.dataSync()) });
    }
  }
  for (const [name, shape] of expected) {
    const got = out.get(name);
    if (!got || got.shape.join() !== shape.join()) {
      throw new Error(`export: weight ${name} has shape ${got?.shape} but the architecture expects ${shape}`);
    }
  }
  return out;
}
