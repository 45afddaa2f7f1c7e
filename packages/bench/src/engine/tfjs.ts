/** The same ResNet graph and weights run by TensorFlow.js on its wasm backend (XNNPACK). */
import { createRequire } from "node:module";
import * as path from "node:path";
import type { EamGraph, TensorData } from "@edge-audio/engine-wasm";
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";

export async function initTfjsWasm(threads = 1): Promise<string> {
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  setWasmPaths(`${path.join(dir, "dist")}/`);
  setThreadsCount(threads);
  await tf.setBackend("wasm");
  await tf.ready();
  return tf.getBackend();
}

export interface TfjsModel {
  run(input: Float32Array): Float32Array;
  dispose(): void;
}

/** Builds the graph from `.eam` contents (HWIO conv weights, [in,out] dense). */
export function buildTfjsModel(graph: EamGraph, weight: (name: string) => TensorData): TfjsModel {
  const vars = new Map<string, tf.Tensor>();
  const w = (name: string, shape: number[]): tf.Tensor => {
    let t = vars.get(name);
    if (!t) {
      // Created outside any tidy scope so the weights outlive each run.
      t = tf.keep(tf.tensor(weight(name) as Float32Array, shape, "float32"));
      vars.set(name, t);
    }
    return t;
  };
  const shapes = new Map<string, number[]>([[graph.input, graph.inputShape]]);
  return {
    run(input: Float32Array): Float32Array {
      const out = tf.tidy(() => {
        const env = new Map<string, tf.Tensor>();
        env.set(
          graph.input,
          tf.tensor4d(input, [1, ...graph.inputShape] as [number, number, number, number]),
        );
        for (const l of graph.layers) {
          switch (l.op) {
            case "conv": {
              const x = env.get(l.input) as tf.Tensor4D;
              const cin = x.shape[3];
              const y = tf.fused.conv2d({
                x,
                filter: w(`${l.name}.weight`, [l.kernel[0], l.kernel[1], cin, l.filters]) as tf.Tensor4D,
                strides: l.stride,
                pad: l.padding,
                bias: w(`${l.name}.bias`, [l.filters]),
                activation: l.relu ? "relu" : "linear",
              });
              env.set(l.name, y);
              break;
            }
            case "maxpool":
              env.set(l.name, tf.maxPool(env.get(l.input) as tf.Tensor4D, l.pool, l.stride, l.padding));
              break;
            case "add": {
              const s = tf.add(env.get(l.inputs[0])!, env.get(l.inputs[1])!);
              env.set(l.name, l.relu ? tf.relu(s) : s);
              break;
            }
            case "gap":
              env.set(l.name, tf.mean(env.get(l.input)!, [1, 2]));
              break;
            case "dropout":
              env.set(l.name, env.get(l.input)!);
              break;
            case "dense": {
              const x = env.get(l.input) as tf.Tensor2D;
              const y = tf.add(
                tf.matMul(x, w(`${l.name}.weight`, [x.shape[1], l.units]) as tf.Tensor2D),
                w(`${l.name}.bias`, [l.units]),
              );
              env.set(l.name, y);
              break;
            }
            case "softmax":
              env.set(l.name, tf.softmax(env.get(l.input)!));
              break;
          }
        }
        return env.get(graph.output)!;
      });
      const data = out.dataSync() as Float32Array;
      out.dispose();
      return Float32Array.from(data);
    },
    dispose() {
      for (const t of vars.values()) t.dispose();
      vars.clear();
      void shapes;
    },
  };
}
