/**
 * Runners of the compare suite that read our `.eam` model file: the engine itself (any variant the
 * engine can load) and TensorFlow.js (wasm, cpu and, where installed, tfjs-node) building the same
 * graph from the same weights. Each is rebuilt from JSON options inside a child process by
 * `measureInChild`, so every row's peak memory is that runtime's alone.
 */
import type { Runner } from "../runner.js";

export interface EngineRunnerOptions {
  modelPath: string;
  threads: number;
  name?: string;
  /** Run the file's 7-bit layers on the relaxed-SIMD GEMM where the self-check allows (LoadOptions.relaxedSimd). */
  relaxedSimd?: boolean;
  /** Run the f32 GEMMs on the fused multiply-add kernels where the self-check allows (LoadOptions.fma). */
  fma?: boolean;
}

/** `@edge-audio/engine-wasm`: `loadModel(path, { threads })`, one crop per `run`. */
export class EngineRunner implements Runner {
  readonly name: string;
  readonly threads: number;
  private model: import("@edge-audio/engine-wasm").Model | null = null;

  constructor(private readonly options: EngineRunnerOptions) {
    this.name = options.name ?? "engine";
    this.threads = options.threads;
  }

  async load(): Promise<void> {
    const { loadModel } = await import("@edge-audio/engine-wasm");
    this.model = await loadModel(this.options.modelPath, {
      threads: this.threads,
      relaxedSimd: this.options.relaxedSimd,
      fma: this.options.fma,
    });
    const { relaxed: r, fma } = this.model.info();
    if (this.options.relaxedSimd && r.relaxedLayers === 0)
      throw new Error(`no layer runs on relaxed SIMD: ${r.reason}`);
    if (this.options.fma && fma.fmaLayers === 0)
      throw new Error(`no layer runs on fused multiply-add: ${fma.reason}`);
  }

  async run(crop: Float32Array): Promise<Float32Array> {
    return Float32Array.from(this.model!.run(crop));
  }

  async dispose(): Promise<void> {
    await this.model?.dispose();
    this.model = null;
  }
}

export type TfjsBackend = "wasm" | "cpu" | "tensorflow";

export interface TfjsRunnerOptions {
  /** The FP32 `.eam` file whose graph and weights tfjs rebuilds. */
  modelPath: string;
  backend: TfjsBackend;
  threads: number;
  name?: string;
}

/**
 * TensorFlow.js on one backend. The graph is built with `tf.fused.conv2d` etc. from the `.eam`
 * file's graph and FP32 weights (see `../engine/tfjs.ts`); the file's copy of the weights is
 * released once tfjs holds its own tensors.
 */
export class TfjsRunner implements Runner {
  readonly name: string;
  readonly threads: number;
  private model: { run(x: Float32Array): Float32Array; dispose(): void } | null = null;

  constructor(private readonly options: TfjsRunnerOptions) {
    this.name = options.name ?? `tfjs-${options.backend}`;
    this.threads = options.threads;
  }

  async load(): Promise<void> {
    const { readModel } = await import("@edge-audio/engine-wasm");
    const { buildTfjsModel, initTfjsWasm } = await import("../engine/tfjs.js");
    if (this.options.backend === "wasm") {
      await initTfjsWasm(this.threads);
    } else {
      if (this.options.backend === "tensorflow") await import(TFJS_NODE);
      const tf = await import("@tensorflow/tfjs");
      if (!(await tf.setBackend(this.options.backend)))
        throw new Error(`tfjs backend "${this.options.backend}" is not available`);
      await tf.ready();
    }
    const file = readModel(this.options.modelPath);
    const model = buildTfjsModel(file.graph, (n) => file.tensor(n).data);
    // First run copies the weights into tfjs tensors; the file's arrays can go afterwards.
    const [h, w, c] = file.graph.inputShape as [number, number, number];
    model.run(new Float32Array(h * w * c));
    file.tensorData.clear();
    this.model = model;
  }

  async run(crop: Float32Array): Promise<Float32Array> {
    return this.model!.run(crop);
  }

  async dispose(): Promise<void> {
    this.model?.dispose();
    this.model = null;
  }
}

/** Module name of the native TensorFlow binding (kept in a variable: it is optional and usually absent). */
export const TFJS_NODE = "@tensorflow/tfjs-node";

/** Why tfjs-node cannot run here, or null when it imports. */
export async function tfjsNodeUnavailable(): Promise<string | null> {
  try {
    await import(TFJS_NODE);
    return null;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    return /Cannot find (package|module)/.test(msg)
      ? `${TFJS_NODE} is not installed (its install script downloads libtensorflow, which this machine cannot fetch)`
      : `${TFJS_NODE} does not load: ${msg}`;
  }
}

export function createEngineRunner(options: EngineRunnerOptions): Runner {
  return new EngineRunner(options);
}
export function createTfjsRunner(options: TfjsRunnerOptions): Runner {
  return new TfjsRunner(options);
}
