/**
 * The ResNet family as plain data. This is the single definition of the architecture:
 * the engine turns it into its execution graph and the trainer turns it into tfjs layers.
 *
 * Layout is NHWC. A log-Mel crop of `nMels x nFrames` enters as H = nMels, W = nFrames,
 * C = inChannels (1). Padding follows TensorFlow's "same" rule (see `samePadding`), so the
 * trainer can use tfjs `padding: "same"` and the engine reproduces it exactly.
 *
 * Convolutions carry `bn: true`: in training they are conv (no bias) + batch-norm; at export
 * the batch-norm is folded into the conv weight and a bias, so the engine only ever sees
 * conv + bias (+ fused ReLU).
 */

export type ResNetDepth = 18 | 34 | 50 | 101 | 152;

export interface ArchConfig {
  family: "resnet";
  depth: ResNetDepth;
  /** Width multiplier applied to every stage's channel count (1 = the standard network). */
  width: number;
  inChannels: number;
  numClasses: number;
  /** Input height (Mel bands) and width (frames). */
  inputHeight: number;
  inputWidth: number;
  /** Dropout rate of the head (the study: 0.5). Only active in training. */
  dropout: number;
}

export type Padding = "same" | "valid";

export interface ConvSpec {
  op: "conv";
  name: string;
  input: string;
  filters: number;
  kernel: [number, number];
  stride: [number, number];
  padding: Padding;
  /** Trained with batch-norm after the conv; folded into weight + bias at export. */
  bn: boolean;
  relu: boolean;
}
export interface MaxPoolSpec {
  op: "maxpool";
  name: string;
  input: string;
  pool: [number, number];
  stride: [number, number];
  padding: Padding;
}
export interface AddSpec {
  op: "add";
  name: string;
  inputs: [string, string];
  relu: boolean;
}
export interface GapSpec {
  op: "gap";
  name: string;
  input: string;
}
export interface DropoutSpec {
  op: "dropout";
  name: string;
  input: string;
  rate: number;
}
export interface DenseSpec {
  op: "dense";
  name: string;
  input: string;
  units: number;
}
export interface SoftmaxSpec {
  op: "softmax";
  name: string;
  input: string;
}
export type LayerSpec = ConvSpec | MaxPoolSpec | AddSpec | GapSpec | DropoutSpec | DenseSpec | SoftmaxSpec;

export interface ArchSpec {
  config: ArchConfig;
  /** Name of the graph input tensor. */
  input: string;
  /** Layers in a valid topological (execution) order. */
  layers: LayerSpec[];
  /** Name of the output tensor (the softmax). */
  output: string;
}

const STAGES: Record<
  ResNetDepth,
  { block: "basic" | "bottleneck"; blocks: [number, number, number, number] }
> = {
  18: { block: "basic", blocks: [2, 2, 2, 2] },
  34: { block: "basic", blocks: [3, 4, 6, 3] },
  50: { block: "bottleneck", blocks: [3, 4, 6, 3] },
  101: { block: "bottleneck", blocks: [3, 4, 23, 3] },
  152: { block: "bottleneck", blocks: [3, 8, 36, 3] },
};

export const RESNET_DEPTHS: readonly ResNetDepth[] = [18, 34, 50, 101, 152];

/** Channel count of a stage after the width multiplier, kept a multiple of 4 (SIMD lanes). */
export function scaledChannels(base: number, width: number): number {
  return Math.max(4, Math.round((base * width) / 4) * 4);
}

export function defaultArchConfig(overrides: Partial<ArchConfig> = {}): ArchConfig {
  return {
    family: "resnet",
    depth: 18,
    width: 1,
    inChannels: 1,
    numClasses: 10,
    inputHeight: 128,
    inputWidth: 130,
    dropout: 0.5,
    ...overrides,
  };
}

/** Parses names like "resnet18", "resnet152", "ResNet-50". */
export function parseArchName(name: string): ResNetDepth {
  const m = /^resnet-?(\d+)$/i.exec(name.trim());
  const depth = m ? Number(m[1]) : Number.NaN;
  if (!RESNET_DEPTHS.includes(depth as ResNetDepth)) {
    throw new Error(
      `unknown architecture "${name}": expected one of ${RESNET_DEPTHS.map((d) => `resnet${d}`).join(", ")}`,
    );
  }
  return depth as ResNetDepth;
}

export function validateArchConfig(c: ArchConfig): void {
  const problems: string[] = [];
  if (c.family !== "resnet") problems.push(`family must be "resnet", got ${JSON.stringify(c.family)}`);
  if (!RESNET_DEPTHS.includes(c.depth))
    problems.push(`depth must be one of ${RESNET_DEPTHS.join("/")}, got ${c.depth}`);
  if (!(c.width > 0 && c.width <= 8)) problems.push(`width must be in (0, 8], got ${c.width}`);
  for (const k of ["inChannels", "numClasses", "inputHeight", "inputWidth"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) problems.push(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.numClasses < 2) problems.push(`numClasses must be at least 2, got ${c.numClasses}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) problems.push(`dropout must be in [0, 1), got ${c.dropout}`);
  if (problems.length) throw new Error(`invalid architecture config: ${problems.join("; ")}`);
}

/**
 * Builds the layer list. Bottleneck blocks put the stride on the first 1x1 convolution, as
 * Keras' ResNet50/101/152 (the study's TensorFlow model) do; projection shortcuts
 * (1x1 conv + BN) appear wherever the shape changes.
 */
export function resnetSpec(config: ArchConfig): ArchSpec {
  validateArchConfig(config);
  const { block, blocks } = STAGES[config.depth];
  const layers: LayerSpec[] = [];
  const conv = (
    name: string,
    input: string,
    filters: number,
    k: number,
    s: number,
    relu: boolean,
  ): string => {
    layers.push({
      op: "conv",
      name,
      input,
      filters,
      kernel: [k, k],
      stride: [s, s],
      padding: "same",
      bn: true,
      relu,
    });
    return name;
  };

  let x = "input";
  let channels = scaledChannels(64, config.width);
  x = conv("stem.conv", x, channels, 7, 2, true);
  layers.push({ op: "maxpool", name: "stem.pool", input: x, pool: [3, 3], stride: [2, 2], padding: "same" });
  x = "stem.pool";

  const expansion = block === "bottleneck" ? 4 : 1;
  const bases = [64, 128, 256, 512];
  for (let stage = 0; stage < 4; stage++) {
    const mid = scaledChannels(bases[stage]!, config.width);
    const out = mid * expansion;
    for (let b = 0; b < blocks[stage]!; b++) {
      const p = `layer${stage + 1}.${b}`;
      const stride = b === 0 && stage > 0 ? 2 : 1;
      let y: string;
      if (block === "basic") {
        y = conv(`${p}.conv1`, x, mid, 3, stride, true);
        y = conv(`${p}.conv2`, y, out, 3, 1, false);
      } else {
        y = conv(`${p}.conv1`, x, mid, 1, stride, true);
        y = conv(`${p}.conv2`, y, mid, 3, 1, true);
        y = conv(`${p}.conv3`, y, out, 1, 1, false);
      }
      const shortcut =
        stride !== 1 || channels !== out ? conv(`${p}.downsample`, x, out, 1, stride, false) : x;
      layers.push({ op: "add", name: `${p}.add`, inputs: [y, shortcut], relu: true });
      x = `${p}.add`;
      channels = out;
    }
  }
  layers.push({ op: "gap", name: "head.gap", input: x });
  layers.push({ op: "dropout", name: "head.dropout", input: "head.gap", rate: config.dropout });
  layers.push({ op: "dense", name: "head.dense", input: "head.dropout", units: config.numClasses });
  layers.push({ op: "softmax", name: "head.softmax", input: "head.dense" });
  return { config, input: "input", layers, output: "head.softmax" };
}

/** TensorFlow "same" padding along one axis: output size and the padding before/after. */
export function samePadding(
  inSize: number,
  kernel: number,
  stride: number,
): { out: number; before: number; after: number } {
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + kernel - inSize, 0);
  const before = Math.floor(total / 2);
  return { out, before, after: total - before };
}

/** "valid" padding along one axis. */
export function validPadding(
  inSize: number,
  kernel: number,
  stride: number,
): { out: number; before: number; after: number } {
  return { out: Math.floor((inSize - kernel) / stride) + 1, before: 0, after: 0 };
}

export function padding1d(mode: Padding, inSize: number, kernel: number, stride: number) {
  return mode === "same" ? samePadding(inSize, kernel, stride) : validPadding(inSize, kernel, stride);
}

/** NHWC shape (without batch) of every tensor in the spec, keyed by name. */
export function inferShapes(spec: ArchSpec): Map<string, number[]> {
  const c = spec.config;
  const shapes = new Map<string, number[]>([[spec.input, [c.inputHeight, c.inputWidth, c.inChannels]]]);
  const get = (n: string): number[] => {
    const s = shapes.get(n);
    if (!s) throw new Error(`layer input "${n}" is not produced by an earlier layer`);
    return s;
  };
  for (const l of spec.layers) {
    switch (l.op) {
      case "conv":
      case "maxpool": {
        const [h, w, ch] = get(l.input) as [number, number, number];
        const k = l.op === "conv" ? l.kernel : l.pool;
        const ph = padding1d(l.padding, h, k[0], l.stride[0]);
        const pw = padding1d(l.padding, w, k[1], l.stride[1]);
        shapes.set(l.name, [ph.out, pw.out, l.op === "conv" ? l.filters : ch]);
        break;
      }
      case "add": {
        const a = get(l.inputs[0]);
        const b = get(l.inputs[1]);
        if (a.join() !== b.join()) throw new Error(`add ${l.name}: shapes ${a} and ${b} differ`);
        shapes.set(l.name, a);
        break;
      }
      case "gap":
        shapes.set(l.name, [get(l.input)[2]!]);
        break;
      case "dropout":
      case "softmax":
        shapes.set(l.name, get(l.input));
        break;
      case "dense":
        get(l.input);
        shapes.set(l.name, [l.units]);
        break;
    }
  }
  return shapes;
}

/** Weight tensors a spec needs, with their shapes (the FP32 export layout). */
export function weightShapes(spec: ArchSpec): Map<string, number[]> {
  const shapes = inferShapes(spec);
  const out = new Map<string, number[]>();
  for (const l of spec.layers) {
    if (l.op === "conv") {
      const cin = shapes.get(l.input)![2]!;
      out.set(`${l.name}.weight`, [l.kernel[0], l.kernel[1], cin, l.filters]); // HWIO
      out.set(`${l.name}.bias`, [l.filters]);
    } else if (l.op === "dense") {
      const cin = shapes.get(l.input)![0]!;
      out.set(`${l.name}.weight`, [cin, l.units]); // [in, out]
      out.set(`${l.name}.bias`, [l.units]);
    }
  }
  return out;
}

/** Multiply-accumulate count of one forward pass (convs and dense). */
export function countMacs(spec: ArchSpec): number {
  const shapes = inferShapes(spec);
  let macs = 0;
  for (const l of spec.layers) {
    if (l.op === "conv") {
      const [oh, ow, co] = shapes.get(l.name)! as [number, number, number];
      const cin = shapes.get(l.input)![2]!;
      macs += oh * ow * co * cin * l.kernel[0] * l.kernel[1];
    } else if (l.op === "dense") {
      macs += shapes.get(l.input)![0]! * l.units;
    }
  }
  return macs;
}

export function countParams(spec: ArchSpec): number {
  let n = 0;
  for (const s of weightShapes(spec).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}
