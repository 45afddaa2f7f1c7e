/**
 * Child process of the runner memory benchmark: the TensorFlow.js baseline doing what
 * `pi-runner eval` does (decode, log-Mel, crops, model, mean probabilities) with the same model
 * weights on the tfjs wasm backend. Prints one JSON line with its peak resident memory.
 *   node dist/memory/tfjs-eval.js MODEL.eam CLIP...
 */
import {
  evalCropOffsets,
  loadAudio,
  logMelSpectrogram,
  type MelConfig,
  modelCrop,
  resolveMelConfig,
} from "@edge-audio/dsp";
import { readModel } from "@edge-audio/engine-wasm";
import { buildTfjsModel, initTfjsWasm } from "../engine/tfjs.js";
import { peakRss } from "../measure.js";

const t0 = performance.now();
const [modelPath, ...clips] = process.argv.slice(2);
if (!modelPath || clips.length === 0) {
  console.error("usage: tfjs-eval MODEL.eam CLIP...");
  process.exit(2);
}
await initTfjsWasm(1);
const file = readModel(modelPath);
const model = buildTfjsModel(file.graph, (name) => file.tensor(name).data);
const mel: MelConfig = resolveMelConfig(file.mel as Partial<MelConfig>);
const [, cropFrames] = file.graph.inputShape as [number, number, number];
const msLoad = performance.now() - t0;
let firstResultMs = 0;
let total = 0;
const labels: number[] = [];
for (const clip of clips) {
  const c0 = performance.now();
  const spec = logMelSpectrogram(await loadAudio(clip, { sampleRate: mel.sampleRate }), mel);
  const probs = new Float64Array(file.labels.length);
  for (const off of evalCropOffsets(spec.nFrames, cropFrames)) {
    const p = model.run(modelCrop(spec, off, cropFrames, mel));
    for (let i = 0; i < probs.length; i++) probs[i]! += p[i]!;
  }
  // tfjs copies the weights into its own tensors on the first run; drop the file's copy then
  file.tensorData.clear();
  labels.push(probs.indexOf(Math.max(...probs)));
  total += performance.now() - c0;
  if (!firstResultMs) firstResultMs = performance.now() - t0;
}
console.log(
  JSON.stringify({
    peakRssMB: peakRss() / 2 ** 20,
    msPerClip: total / clips.length,
    msLoad,
    firstResultMs,
    labels,
  }),
);
