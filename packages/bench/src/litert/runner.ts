/** A `.tflite` file on LiteRT.js (XNNPACK on wasm), as a `Runner` of the compare suite. */
import { readFileSync } from "node:fs";
import type { Runner } from "../runner.js";
import { type LiteRtBuild, type LiteRtModule, loadLiteRtNode } from "./runtime.js";

export interface LiteRtRunnerOptions {
  modelPath: string;
  /** [1, H, W, C] */
  inputDims: number[];
  threads: number;
  /** Default: compat for 1 thread, threaded otherwise. */
  build?: LiteRtBuild;
  name?: string;
  /** Output index to return (default 0, the probabilities). */
  output?: number;
}

export class LiteRtRunner implements Runner {
  readonly name: string;
  readonly threads: number;
  private lrt: LiteRtModule | null = null;
  private model: Awaited<ReturnType<LiteRtModule["loadAndCompile"]>> | null = null;

  constructor(private readonly options: LiteRtRunnerOptions) {
    this.name = options.name ?? "litert";
    this.threads = options.threads;
  }

  get build(): LiteRtBuild {
    return this.options.build ?? (this.threads > 1 ? "threaded" : "compat");
  }

  async load(): Promise<void> {
    this.lrt = await loadLiteRtNode(this.build, this.threads);
    const bytes = new Uint8Array(readFileSync(this.options.modelPath));
    this.model = await this.lrt.loadAndCompile(bytes, {
      accelerator: "wasm",
      cpuOptions: { numThreads: this.threads },
    } as Parameters<LiteRtModule["loadAndCompile"]>[1]);
  }

  /** Every output of one run, as float arrays. */
  async runAll(crop: Float32Array): Promise<Float32Array[]> {
    const input = new this.lrt!.Tensor(crop, this.options.inputDims);
    try {
      const list = await this.model!.run([input]);
      const arrays = list.map((t) => Float32Array.from(t.toTypedArray() as Float32Array));
      for (const t of list) t.delete();
      return arrays;
    } finally {
      input.delete();
    }
  }

  async run(crop: Float32Array): Promise<Float32Array> {
    return (await this.runAll(crop))[this.options.output ?? 0]!;
  }

  async dispose(): Promise<void> {
    this.model?.delete();
    this.model = null;
  }
}

export function createLiteRtRunner(options: LiteRtRunnerOptions): Runner {
  return new LiteRtRunner(options);
}
