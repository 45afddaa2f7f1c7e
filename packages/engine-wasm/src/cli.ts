#!/usr/bin/env node
/** edge-audio-engine: random model generation, model inspection and inference from the shell. */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { parseArchName, RESNET_DEPTHS, type ResNetDepth } from "./arch.js";
import { EamFormatError } from "./format.js";
import { loadModel } from "./model.js";
import { randomCrop, writeRandomModel } from "./random.js";

const HELP = `edge-audio-engine <command> [options]

Commands:
  random --out FILE [--depth 18|34|50|101|152] [--width W] [--classes N]
         [--height MELS] [--frames FRAMES] [--channels C] [--seed S]
      Write a ResNet with seeded random weights to a .eam file.
  info FILE [--json]
      Validate a .eam file and print its graph summary, sizes, labels, Mel config, provenance.
  run FILE [--input CROP] [--threads N] [--isa wasmsimd|scalar] [--direct] [--repeat R] [--json]
      Classify one crop. CROP is raw little-endian float32 (.f32) or a JSON array, in the
      layout data[mel * frames + frame]; without --input a seeded pseudo-random crop is used.
      --direct runs 3x3 convolutions directly instead of with Winograd F(2x2,3x3).

Options:
  --help     Show this help.
  --json     Machine-readable output.
`;

function fail(msg: string): never {
  process.stderr.write(`edge-audio-engine: ${msg}\n`);
  process.exit(2);
}

function num(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) fail(`--${name} must be a number, got ${v}`);
  return n;
}

function readCrop(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  if (file.endsWith(".json")) return Float32Array.from(JSON.parse(buf.toString("utf8")) as number[]);
  if (buf.length % 4 !== 0) fail(`${file}: size ${buf.length} is not a multiple of 4 (float32)`);
  const out = new Float32Array(buf.length / 4);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      json: { type: "boolean" },
      out: { type: "string", short: "o" },
      depth: { type: "string" },
      width: { type: "string" },
      classes: { type: "string" },
      height: { type: "string" },
      frames: { type: "string" },
      channels: { type: "string" },
      seed: { type: "string" },
      input: { type: "string" },
      threads: { type: "string" },
      isa: { type: "string" },
      repeat: { type: "string" },
      direct: { type: "boolean" },
    },
  });
  const [cmd, file] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(HELP);
    return;
  }
  switch (cmd) {
    case "random": {
      const out = values.out ?? file;
      if (!out) fail("random: --out FILE is required");
      const d = values.depth ?? "18";
      const depth = (/^\d+$/.test(d) ? Number(d) : parseArchName(d)) as ResNetDepth;
      if (!RESNET_DEPTHS.includes(depth)) fail(`--depth must be one of ${RESNET_DEPTHS.join(", ")}`);
      const cfg = {
        depth,
        width: num(values.width, "width", 1),
        numClasses: num(values.classes, "classes", 10),
        inputHeight: num(values.height, "height", 128),
        inputWidth: num(values.frames, "frames", 130),
        inChannels: num(values.channels, "channels", 1),
      };
      const seed = num(values.seed, "seed", 1);
      const t0 = performance.now();
      const { bytes } = writeRandomModel(out, cfg, seed);
      const res = { file: out, bytes, config: cfg, seed, ms: Math.round(performance.now() - t0) };
      process.stdout.write(
        values.json
          ? `${JSON.stringify(res)}\n`
          : `wrote ${out}: resnet${depth} width ${cfg.width}, ${bytes} bytes, seed ${seed}\n`,
      );
      return;
    }
    case "info":
    case "run": {
      if (!file) fail(`${cmd}: a model FILE is required`);
      const threads = cmd === "info" ? 1 : num(values.threads, "threads", 0) || undefined;
      const isa = values.isa as "wasmsimd" | "scalar" | undefined;
      if (isa && isa !== "wasmsimd" && isa !== "scalar") fail("--isa must be wasmsimd or scalar");
      const model = await loadModel(file, { threads, isa, winograd: !values.direct });
      try {
        const info = model.info();
        if (cmd === "info") {
          if (values.json) {
            process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
          } else {
            const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
            process.stdout.write(
              [
                `${file}: .eam ${info.formatVersion}, ${info.provenance.architecture ?? "unknown architecture"}`,
                `  input ${info.input.name} [${info.input.shape}] -> output ${info.output.name} [${info.output.shape}]`,
                `  layers ${info.layers}, ops ${info.ops.total} (${Object.entries(info.ops.byKind)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(", ")})`,
                `  params ${info.params}, MACs ${info.macs} (${((2 * info.macs) / 1e9).toFixed(2)} GFLOP per crop)`,
                `  file ${mb(info.fileBytes)}, packed weights ${mb(info.weightBytes)}, wasm memory ${mb(info.memoryBytes)}`,
                `  3x3 convolutions: ${info.winograd ? "Winograd F(2x2,3x3)" : "direct (IGEMM)"}`,
                `  precision: ${info.quantMode} (${Object.entries(info.precision)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(", ")} layers)`,
                `  activation arena ${mb(info.arenaBytes)} (live peak ${mb(info.peakLiveBytes)}, largest op ${mb(info.largestOpBytes)}), indirection ${mb(info.indirectionBytes)}`,
                `  labels: ${info.labels.join(", ") || "(none)"}`,
                `  mel: ${info.mel ? JSON.stringify(info.mel) : "(none)"}`,
                `  provenance: ${JSON.stringify(info.provenance)}`,
                `  load ${info.loadMs.toFixed(0)} ms`,
              ].join("\n") + "\n",
            );
          }
          return;
        }
        const n = model.inputSize;
        const crop = values.input ? readCrop(values.input) : randomCrop(n);
        if (crop.length !== n) fail(`input has ${crop.length} values, the model expects ${n}`);
        const repeat = Math.max(1, num(values.repeat, "repeat", 1));
        const times: number[] = [];
        let probs: Float32Array = new Float32Array(0);
        for (let i = 0; i < repeat; i++) {
          const t = performance.now();
          probs = model.run(crop);
          times.push(performance.now() - t);
        }
        const labels = info.labels; // one per output class (checked when the model is loaded)
        const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
        const sorted = [...times].sort((a, b) => a - b);
        const res = {
          top: labels[order[0]!],
          probabilities: Object.fromEntries(labels.map((l, i) => [l, probs[i]])),
          ms: { first: times[0], min: sorted[0], median: sorted[Math.floor(sorted.length / 2)] },
          loadMs: info.loadMs,
          threads: info.threads,
          isa: info.isa,
          input: values.input ?? "random crop (seed 7)",
        };
        if (values.json) process.stdout.write(`${JSON.stringify(res)}\n`);
        else {
          process.stdout.write(`${res.top}\n`);
          for (const i of order.slice(0, 5))
            process.stdout.write(`  ${labels[i]}: ${probs[i]!.toFixed(4)}\n`);
          process.stdout.write(
            `  ${res.ms.min!.toFixed(1)} ms (min of ${repeat}), ${info.threads} thread(s), ${info.isa}, load ${info.loadMs.toFixed(0)} ms\n`,
          );
        }
      } finally {
        await model.dispose();
      }
      return;
    }
    default:
      fail(`unknown command ${cmd} (see --help)`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof EamFormatError) fail(e.message);
  fail(e instanceof Error ? e.message : String(e));
});
