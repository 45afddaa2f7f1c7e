#!/usr/bin/env node
/**
 * Soak run: N inferences (default 10,000) in one process through the runner's Classifier (log-Mel
 * of a 3 s clip + one crop through the engine), sampling resident memory as it goes. Prints the
 * RSS slope (least squares over the samples after a warm-up), the first and last RSS, and checks
 * that the same input keeps giving bit-identical probabilities.
 *
 *   node apps/pi-runner/scripts/soak.mjs [--n 10000] [--threads 1] [--depth 18] [--width 0.125] [--json]
 *
 * Build first (npm run build). Memory figures on a shared machine are noisy.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultMelConfig } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";
import { Classifier } from "../dist/classifier.js";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "10000" },
    threads: { type: "string", default: "1" },
    depth: { type: "string", default: "18" },
    width: { type: "string", default: "0.125" },
    every: { type: "string", default: "100" },
    json: { type: "boolean", default: false },
  },
});
const N = Number(values.n);
const every = Number(values.every);

const dir = mkdtempSync(join(tmpdir(), "pi-runner-soak-"));
const modelPath = join(dir, "soak.eam");
const c = createRandomModel({ depth: Number(values.depth), width: Number(values.width), numClasses: 10 }, 9);
c.mel = defaultMelConfig();
writeModel(modelPath, c);
const clf = await Classifier.open(modelPath, Number(values.threads));

const rate = clf.mel.sampleRate;
const clips = [0, 1, 2].map((k) => {
  const x = new Float32Array(3 * rate);
  let s = 12345 + k;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = 0.3 * Math.sin((2 * Math.PI * (220 + 110 * k) * i) / rate) + 0.05 * (s / 2 ** 32 - 0.5);
  }
  return x;
});
const expected = clips.map((x) => Buffer.from(clf.classifySamples(x).probs.buffer).toString("hex"));

const samples = []; // [iteration, rss, heapUsed, external + arrayBuffers]
const t0 = performance.now();
let mismatches = 0;
for (let i = 0; i < N; i++) {
  const k = i % clips.length;
  const r = clf.classifySamples(clips[k]);
  if (Buffer.from(r.probs.buffer).toString("hex") !== expected[k]) mismatches++;
  if (i % every === 0 || i === N - 1) {
    const m = process.memoryUsage();
    samples.push([i, m.rss, m.heapUsed, m.external + m.arrayBuffers]);
  }
}
const seconds = (performance.now() - t0) / 1000;
await clf.dispose();
rmSync(dir, { recursive: true, force: true });

/** Least-squares slope of y over x. */
function slope(pts) {
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den ? num / den : 0;
}

const warm = samples.filter(([i]) => i >= N * 0.1);
const rssSlope = slope(warm.map(([i, r]) => [i, r]));
const heapSlope = slope(warm.map(([i, , h]) => [i, h]));
const firstHalf = slope(warm.filter(([i]) => i < N * 0.55).map(([i, r]) => [i, r]));
const secondHalf = slope(warm.filter(([i]) => i >= N * 0.55).map(([i, r]) => [i, r]));
const MiB = 2 ** 20;
const report = {
  inferences: N,
  threads: Number(values.threads),
  model: `resnet${values.depth} width ${values.width}, input ${clf.nMels}x${clf.cropFrames}`,
  seconds: Number(seconds.toFixed(1)),
  msPerInference: Number(((seconds * 1000) / N).toFixed(2)),
  rssStartMiB: Number((samples[0][1] / MiB).toFixed(1)),
  rssAfterWarmupMiB: Number((warm[0][1] / MiB).toFixed(1)),
  rssEndMiB: Number((samples.at(-1)[1] / MiB).toFixed(1)),
  rssMaxMiB: Number((Math.max(...samples.map((s) => s[1])) / MiB).toFixed(1)),
  rssSlopeBytesPerInference: Number(rssSlope.toFixed(2)),
  rssSlopeFirstHalf: Number(firstHalf.toFixed(2)),
  rssSlopeSecondHalf: Number(secondHalf.toFixed(2)),
  heapSlopeBytesPerInference: Number(heapSlope.toFixed(2)),
  outputMismatches: mismatches,
};
if (values.json) console.log(JSON.stringify(report));
else {
  for (const [k, v] of Object.entries(report)) console.log(`${k.padEnd(28)} ${v}`);
  console.log(
    `RSS slope ${rssSlope.toFixed(1)} B/inference = ${((rssSlope * 10000) / MiB).toFixed(2)} MiB per 10,000 inferences (after the first 10 %)`,
  );
}
if (mismatches) process.exitCode = 1;
