#!/usr/bin/env node
/**
 * Engine benchmarks: wasm SIMD peak, GEMM and every distinct ResNet-152 conv shape (GFLOP/s,
 * fraction of peak), end-to-end ResNet-152 FP32 of our engine (1 and 2 threads) against the
 * TensorFlow.js wasm backend with the same weights, and loading time of the FP32 file; with
 * `--f16`, only the f16-weight model (Winograd and direct 3x3) against FP32 on one thread.
 *
 *   node dist/engine/cli.js [--quick] [--json FILE] [--depth 152] [--repeat 10] [--f16]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import {
  createMemory,
  createRandomModel,
  encodeModel,
  instantiate,
  kernelModule,
  loadModel,
  loadModelFromBytes,
  maxAbsDiff,
  type ResNetDepth,
  randomCrop,
  writeModel,
} from "@edge-audio/engine-wasm";
import { benchConvShapes, benchSquareGemms, measurePeak, withF16Weights } from "./kernels.js";
import { buildTfjsModel, initTfjsWasm } from "./tfjs.js";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      json: { type: "string" },
      depth: { type: "string" },
      repeat: { type: "string" },
      help: { type: "boolean" },
      "e2e-only": { type: "boolean" },
      f16: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: node dist/engine/cli.js [--quick] [--e2e-only] [--f16] [--json FILE] [--depth 152] [--repeat 10]\n",
    );
    return;
  }
  const depth = Number(values.depth ?? 152) as ResNetDepth;
  const repeat = Number(values.repeat ?? (values.quick ? 3 : 10));
  const log = (s: string) => process.stdout.write(`${s}\n`);
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: os.cpus()[0]?.model,
    cores: os.availableParallelism(),
    loadavg: os.loadavg(),
  };

  // Peak of this machine, this run.
  const peaks = {
    wasmsimd: measurePeak(instantiate(kernelModule("wasmsimd"), createMemory(1 << 16)), "wasmsimd"),
    scalar: measurePeak(instantiate(kernelModule("scalar"), createMemory(1 << 16)), "scalar"),
  };
  report.peakGflops = peaks;
  log(
    `## wasm peak (register-only multiply-add): SIMD ${peaks.wasmsimd.toFixed(1)} GFLOP/s, scalar ${peaks.scalar.toFixed(1)} GFLOP/s\n`,
  );

  if (values.f16) {
    report.f16 = await benchF16(depth, repeat, log);
    if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    return;
  }

  if (!values["e2e-only"]) {
    const sizes = values.quick ? [256] : [128, 256, 512];
    const gemm = [
      ...benchSquareGemms("wasmsimd", peaks.wasmsimd, sizes),
      ...benchSquareGemms("scalar", peaks.scalar, [256], [4]),
    ];
    report.gemm = gemm;
    log(
      "Fractions of peak: against the higher of the run's peak and a peak measured right before each kernel.\n",
    );
    log(
      "## GEMM (M = N = K), 1 thread\n\n| kernel | size | GFLOP/s | of peak | peak used |\n| --- | --- | --- | --- | --- |",
    );
    for (const g of gemm)
      log(
        `| ${g.name} | ${g.M} | ${g.gflops.toFixed(1)} | ${(100 * g.ofPeak).toFixed(0)} % | ${g.peak.toFixed(1)} |`,
      );

    // Other processes share the cores: measure the peak again just before the shape benchmarks and
    // keep the higher figure (fractions of peak are then conservative).
    peaks.wasmsimd = Math.max(
      peaks.wasmsimd,
      measurePeak(instantiate(kernelModule("wasmsimd"), createMemory(1 << 16)), "wasmsimd"),
    );
    const convs = await benchConvShapes(depth, "wasmsimd", peaks.wasmsimd);
    // The 3x3 layers once more as direct convolutions (IGEMM) for comparison.
    const direct = (await benchConvShapes(depth, "wasmsimd", peaks.wasmsimd, { winograd: false })).filter(
      (r) => r.shape.includes("k3x3 s1"),
    );
    convs.push(...direct);
    report.convShapes = convs;
    log(`\n## ResNet-${depth} conv shapes on 1x128x130, 1 thread\n`);
    log("GFLOP/s count the direct convolution's 2 x MACs (Winograd layers do fewer multiplies).\n");
    log(
      "| kernel | output, cin->cout, kernel, stride | layers | GFLOP/s | of peak | peak used | ms per pass |\n| --- | --- | --- | --- | --- | --- | --- |",
    );
    for (const c of convs)
      log(
        `| ${c.kernel} | ${c.shape} | ${c.layers.length} | ${c.gflops.toFixed(1)} | ${(100 * c.ofPeak).toFixed(0)} % | ${c.peak.toFixed(1)} | ${c.totalMs.toFixed(1)} |`,
      );
  }

  // End to end, same weights.
  const contents = createRandomModel({ depth }, 1);
  const tensors = new Map(contents.tensors.map((t) => [t.name, t.data]));
  const bytes = encodeModel(contents);
  const x = randomCrop(128 * 130);
  const backend = await initTfjsWasm(1);
  const tfm = buildTfjsModel(contents.graph, (n) => tensors.get(n)!);
  const e1 = await loadModelFromBytes(bytes, { threads: 1 });
  const e2 = await loadModelFromBytes(bytes, { threads: 2 });
  const e1d = await loadModelFromBytes(bytes, { threads: 1, winograd: false });
  const rows: { what: string; min: number; median: number }[] = [];
  // Interleave the three so that load from other processes affects them alike.
  // Interleave single runs of the four so that load from other processes affects them alike.
  const acc = { tfjs: [] as number[], e1: [] as number[], e2: [] as number[], e1d: [] as number[] };
  const once = (f: () => unknown): number => {
    const t = performance.now();
    f();
    return performance.now() - t;
  };
  for (const f of [() => tfm.run(x), () => e1.run(x), () => e2.run(x), () => e1d.run(x)]) f();
  for (let r = 0; r < repeat; r++) {
    acc.tfjs.push(once(() => tfm.run(x)));
    acc.e1.push(once(() => e1.run(x)));
    acc.e2.push(once(() => e2.run(x)));
    acc.e1d.push(once(() => e1d.run(x)));
  }
  const best = (a: number[]) => Math.min(...a);
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
  rows.push({
    what: `tfjs ${backend} backend (XNNPACK), 1 thread`,
    min: best(acc.tfjs),
    median: med(acc.tfjs),
  });
  rows.push({ what: "edge-audio engine wasmsimd, 1 thread", min: best(acc.e1), median: med(acc.e1) });
  rows.push({ what: "edge-audio engine wasmsimd, 2 threads", min: best(acc.e2), median: med(acc.e2) });
  rows.push({
    what: "edge-audio engine wasmsimd, 1 thread, direct 3x3 (no Winograd)",
    min: best(acc.e1d),
    median: med(acc.e1d),
  });
  const pt = tfm.run(x);
  const pe = e1.run(x);
  const diff = maxAbsDiff(pt, pe);
  const diffDirect = maxAbsDiff(pt, e1d.run(x));
  const info = e1.info();
  report.e2e = {
    depth,
    rows,
    maxAbsDiffProbs: diff,
    maxAbsDiffProbsDirect: diffDirect,
    speedup1Direct: best(acc.tfjs) / best(acc.e1d),
    memoryBytesDirect: e1d.info().memoryBytes,
    speedup1: best(acc.tfjs) / best(acc.e1),
    speedup2vs1: best(acc.e1) / best(acc.e2),
    gflopsEngine1: (2 * info.macs) / best(acc.e1) / 1e6,
    arenaBytes: info.arenaBytes,
    peakLiveBytes: info.peakLiveBytes,
    largestOpBytes: info.largestOpBytes,
    memoryBytes: info.memoryBytes,
  };
  log(`\n## ResNet-${depth} FP32, one 1x128x130 crop, same weights (${repeat} interleaved runs each)\n`);
  log("| runtime | min ms | median ms |\n| --- | --- | --- |");
  for (const r of rows) log(`| ${r.what} | ${r.min.toFixed(1)} | ${r.median.toFixed(1)} |`);
  log(
    `\nengine vs tfjs-wasm (1 thread): ${(best(acc.tfjs) / best(acc.e1)).toFixed(2)}x; engine 2 threads vs 1: ${(best(acc.e1) / best(acc.e2)).toFixed(2)}x; max |difference| of the probabilities: ${diff.toExponential(2)} (direct 3x3: ${diffDirect.toExponential(2)}, ${(best(acc.tfjs) / best(acc.e1d)).toFixed(2)}x)`,
  );
  log(
    `engine: ${((2 * info.macs) / 1e9).toFixed(2)} GFLOP per crop, arena ${(info.arenaBytes / 1e6).toFixed(2)} MB (live peak ${(info.peakLiveBytes / 1e6).toFixed(2)} MB, largest op ${(info.largestOpBytes / 1e6).toFixed(2)} MB), wasm memory ${(info.memoryBytes / 1e6).toFixed(1)} MB`,
  );
  log(`direct 3x3 (winograd: false): wasm memory ${(e1d.info().memoryBytes / 1e6).toFixed(1)} MB`);
  tfm.dispose();
  await e1d.dispose();
  await e1.dispose();
  await e2.dispose();

  // Load time of the FP32 file from disk (page cache warm after writing).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-bench-"));
  const file = path.join(dir, `resnet${depth}.eam`);
  writeModel(file, contents);
  const loads: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const m = await loadModel(file, { threads: 1 });
    loads.push(performance.now() - t);
    await m.dispose();
  }
  const size = fs.statSync(file).size;
  fs.rmSync(dir, { recursive: true, force: true });
  report.load = { bytes: size, ms: loads };
  log(
    `\nload of the ${(size / 1e6).toFixed(0)} MB FP32 file (checksums verified, weights packed): ${loads.map((v) => v.toFixed(0)).join(", ")} ms`,
  );
  log(
    `\nload average during the run: ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")} (2-core machine shared with other work)`,
  );
  if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * ResNet-`depth` with its conv and dense weights rounded to f16 (as the quantizer's fp16 mode
 * writes them) on one thread: 3x3 layers as Winograd F(2x2,3x3) (the default) and direct
 * (`f16Winograd: false`), against the FP32 model, single runs interleaved.
 */
async function benchF16(depth: ResNetDepth, repeat: number, log: (s: string) => void) {
  const contents = createRandomModel({ depth }, 1);
  const f16 = withF16Weights(contents);
  const x = randomCrop(128 * 130);
  const models = {
    fp32: await loadModelFromBytes(encodeModel(contents), { threads: 1 }),
    f16Winograd: await loadModelFromBytes(encodeModel(f16), { threads: 1 }),
    f16Direct: await loadModelFromBytes(encodeModel(f16), { threads: 1, f16Winograd: false }),
  };
  const times = { fp32: [] as number[], f16Winograd: [] as number[], f16Direct: [] as number[] };
  const names = Object.keys(models) as (keyof typeof models)[];
  for (const k of names) models[k].run(x);
  for (let r = 0; r < repeat; r++)
    for (const k of names) {
      const t = performance.now();
      models[k].run(x);
      times[k].push(performance.now() - t);
    }
  const best = (a: number[]) => Math.min(...a);
  const med = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
  const pw = Float32Array.from(models.f16Winograd.run(x));
  const pd = Float32Array.from(models.f16Direct.run(x));
  const p32 = Float32Array.from(models.fp32.run(x));
  const rows = names.map((k) => ({
    what: k,
    min: best(times[k]),
    median: med(times[k]),
    memoryBytes: models[k].info().memoryBytes,
    ofFp32: med(times[k]) / med(times.fp32),
  }));
  log(
    `## ResNet-${depth} f16 weights vs FP32, one 1x128x130 crop, 1 thread (${repeat} interleaved runs each)\n`,
  );
  log("| model | min ms | median ms | median / FP32 | wasm memory MiB |\n| --- | --- | --- | --- | --- |");
  for (const r of rows)
    log(
      `| ${r.what} | ${r.min.toFixed(1)} | ${r.median.toFixed(1)} | ${r.ofFp32.toFixed(3)} | ${(r.memoryBytes / 2 ** 20).toFixed(1)} |`,
    );
  const result = {
    rows,
    f16WinogradVsDirect: med(times.f16Winograd) / med(times.f16Direct),
    maxAbsDiffWinogradDirect: maxAbsDiff(pw, pd),
    maxAbsDiffWinogradFp32: maxAbsDiff(pw, p32),
    loadavg: os.loadavg(),
  };
  log(
    `\nf16 Winograd / f16 direct (medians): ${result.f16WinogradVsDirect.toFixed(3)}; max |difference| of the probabilities: Winograd vs direct ${result.maxAbsDiffWinogradDirect.toExponential(2)}, vs FP32 ${result.maxAbsDiffWinogradFp32.toExponential(2)}`,
  );
  for (const k of names) await models[k].dispose();
  // The 3x3 stride-1 layers alone: FP32 Winograd, f16 Winograd, f16 direct.
  const peak = measurePeak(instantiate(kernelModule("wasmsimd"), createMemory(1 << 16)), "wasmsimd");
  const s1 = (r: { shape: string }) => r.shape.includes("k3x3 s1");
  const shapes = [
    ...(await benchConvShapes(depth, "wasmsimd", peak)).filter(s1),
    ...(await benchConvShapes(depth, "wasmsimd", peak, { f16: true })).filter(s1),
    ...(await benchConvShapes(depth, "wasmsimd", peak, { f16: true, f16Winograd: false })).filter(s1),
  ];
  log(`\n## ResNet-${depth} 3x3 stride-1 layers, 1 thread (one layer repeated)\n`);
  log("| kernel | shape | layers | ms per layer | ms per pass |\n| --- | --- | --- | --- | --- |");
  for (const c of shapes)
    log(`| ${c.kernel} | ${c.shape} | ${c.layers.length} | ${c.ms.toFixed(2)} | ${c.totalMs.toFixed(1)} |`);
  log(
    `\nload average after: ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}`,
  );
  return { ...result, shapes };
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
