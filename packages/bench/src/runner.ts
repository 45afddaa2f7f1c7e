/**
 * One inference backend under test, driven the same way by every comparison: load once, run a
 * single crop many times, dispose. Engine, tfjs and ONNX Runtime runners all implement this.
 */
export interface Runner {
  /** Row label in reports, e.g. "onnxruntime-node" or "engine fp32". */
  readonly name: string;
  /** Intra-op threads the runner uses (1 = single-threaded). */
  readonly threads: number;
  /** Builds or reads the model and prepares the backend. Called once before any `run`. */
  load(): Promise<void>;
  /** Runs one crop (NHWC [1, H, W, C] flattened) and returns the output (class probabilities). */
  run(crop: Float32Array): Promise<Float32Array>;
  /** Releases the backend's resources. */
  dispose(): Promise<void>;
}

/**
 * A module that can build a runner from JSON-serialisable options; used to re-create a runner
 * inside a child process for memory measurements.
 */
export type RunnerFactory<O = unknown> = (options: O) => Runner | Promise<Runner>;
