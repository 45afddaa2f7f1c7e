import { readFile } from "node:fs/promises";
import type { Runner } from "../runner.js";

/** Options shared by the ONNX Runtime runners; JSON-serialisable so a child process can rebuild them. */
export interface OrtRunnerOptions {
  /** Path of the .onnx file. */
  modelPath: string;
  /** Input dims, NHWC, e.g. [1, 128, 130, 1]. */
  inputDims: number[];
  /** Intra-op threads (ORT native) or wasm worker threads (ORT web). */
  threads: number;
  /** Row label; defaults to the backend name. */
  name?: string;
  /**
   * Whether idle intra-op threads spin-wait (ORT's default, true). Spinning is fastest on idle
   * cores and costly when the cores are shared; false sets `session.intra_op.allow_spinning=0`.
   */
  spin?: boolean;
}

function spinExtra(spin: boolean | undefined): { extra?: Record<string, unknown> } {
  if (spin === undefined || spin) return {};
  return { extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } } };
}

type OrtNode = typeof import("onnxruntime-node");
type OrtWeb = typeof import("onnxruntime-web");

/**
 * onnxruntime-node (native CPU execution provider): `intraOpNumThreads` = threads,
 * `interOpNumThreads` 1, sequential execution, all graph optimizations.
 */
export class OrtNodeRunner implements Runner {
  readonly name: string;
  readonly threads: number;
  private ort: OrtNode | null = null;
  private session: import("onnxruntime-node").InferenceSession | null = null;

  constructor(private readonly options: OrtRunnerOptions) {
    this.name = options.name ?? "onnxruntime-node";
    this.threads = options.threads;
  }

  async load(): Promise<void> {
    this.ort = await import("onnxruntime-node");
    this.session = await this.ort.InferenceSession.create(this.options.modelPath, {
      executionProviders: ["cpu"],
      intraOpNumThreads: this.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      ...spinExtra(this.options.spin),
    });
  }

  async run(crop: Float32Array): Promise<Float32Array> {
    const ort = this.ort!;
    const s = this.session!;
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor("float32", crop, this.options.inputDims) });
    return out[s.outputNames[0]!]!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = null;
  }
}

/**
 * onnxruntime-web with its WebAssembly backend, run inside Node. In Node the package resolves to
 * its `ort.node` bundle, which finds `ort-wasm-simd-threaded.{mjs,wasm}` next to itself in
 * `node_modules/onnxruntime-web/dist`, so `env.wasm.wasmPaths` needs no setting (`wasmPaths` can
 * still point elsewhere). `env.wasm.numThreads` > 1 starts that many - 1 pthread workers
 * (Node worker_threads on a shared WebAssembly.Memory): threads do work in Node.
 * `env.wasm` is process-global and read at the first session, so one process runs one thread count.
 */
export class OrtWebRunner implements Runner {
  readonly name: string;
  readonly threads: number;
  private ort: OrtWeb | null = null;
  private session: import("onnxruntime-web").InferenceSession | null = null;

  constructor(private readonly options: OrtRunnerOptions & { wasmPaths?: string }) {
    this.name = options.name ?? "onnxruntime-web";
    this.threads = options.threads;
  }

  async load(): Promise<void> {
    const ort = await import("onnxruntime-web");
    this.ort = ort;
    ort.env.wasm.numThreads = this.threads;
    ort.env.wasm.simd = true;
    ort.env.wasm.proxy = false;
    if (this.options.wasmPaths) ort.env.wasm.wasmPaths = this.options.wasmPaths;
    const bytes = new Uint8Array(await readFile(this.options.modelPath));
    this.session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      ...spinExtra(this.options.spin),
    });
  }

  async run(crop: Float32Array): Promise<Float32Array> {
    const ort = this.ort!;
    const s = this.session!;
    const out = await s.run({ [s.inputNames[0]!]: new ort.Tensor("float32", crop, this.options.inputDims) });
    return out[s.outputNames[0]!]!.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session?.release();
    this.session = null;
  }
}

/** Factories by JSON options, for `measureInChild`. */
export function createOrtNodeRunner(options: OrtRunnerOptions): Runner {
  return new OrtNodeRunner(options);
}
export function createOrtWebRunner(options: OrtRunnerOptions & { wasmPaths?: string }): Runner {
  return new OrtWebRunner(options);
}
