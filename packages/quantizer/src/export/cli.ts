/** `edge-audio-quantize export`: a `.eam` model as `.tflite` or `.onnx`. */
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { EXPORT_FORMATS, type ExportFormat, exportModel } from "./index.js";

export const EXPORT_HELP = `edge-audio-quantize export: a .eam model (any variant) as TensorFlow Lite or ONNX

usage:
  edge-audio-quantize export --to tflite|onnx MODEL.eam --out FILE [--extra-output NAME,...] [--json]

  --to tflite    TensorFlow Lite / LiteRT flatbuffer: float CONV_2D etc. for f32 layers, FLOAT16
                 weights and biases + DEQUANTIZE for fp16, int8 weights with float input for dynamic, int8
                 tensors with the model's scales and zero points (per channel or per tensor),
                 int32 biases and QUANTIZE / DEQUANTIZE at the ends for int8; float input and output
  --to onnx      ONNX opset 13, QuantizeLinear / DequantizeLinear (QDQ) around the int8 layers,
                 per-channel int8 weights, int32 biases, DynamicQuantizeLinear for dynamic layers
  --out FILE     where to write
  --extra-output NAME,...  also output these tensors as float (e.g. head.dense, the logits)
  --json         machine-readable result on stdout
  --quiet        print nothing on success
  --version      the package version
  -h, --help     this text

A layer the target cannot express is refused with its name and the reason (e.g. an int8 dense
layer with float output has no TFLite form). int4 layers are written as int8 tensors holding the
same 4-bit values.
`;

export class ExportUsageError extends Error {}

function checkOut(out: string): void {
  try {
    if (statSync(out).isDirectory())
      throw new ExportUsageError(`--out ${out} is a directory; give a file name`);
  } catch (e) {
    if (e instanceof ExportUsageError) throw e;
    try {
      if (!statSync(dirname(out)).isDirectory()) throw new Error();
    } catch {
      throw new ExportUsageError(`--out ${out}: folder ${dirname(out)} does not exist; create it first`);
    }
  }
}

/** Runs the subcommand on its arguments (after `export`); returns the exit code. */
export async function exportMain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      to: { type: "string" },
      out: { type: "string" },
      model: { type: "string" },
      "extra-output": { type: "string" },
      json: { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      version: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.version) {
    const pkg = createRequire(import.meta.url)("../../package.json") as { version: string };
    process.stdout.write(`edge-audio-quantize ${pkg.version}\n`);
    return 0;
  }
  if (values.help || args.length === 0) {
    process.stdout.write(EXPORT_HELP);
    return 0;
  }
  const model = values.model ?? positionals[0];
  if (!model)
    throw new ExportUsageError(
      "export needs a model: edge-audio-quantize export --to tflite MODEL.eam --out FILE",
    );
  if (positionals.length > (values.model ? 0 : 1))
    throw new ExportUsageError(`unexpected argument ${positionals.at(-1)}; export takes one model`);
  const to = values.to as ExportFormat | undefined;
  if (!to || !EXPORT_FORMATS.includes(to)) throw new ExportUsageError("--to is tflite or onnx");
  if (!values.out) throw new ExportUsageError(`--out FILE is required (e.g. --out model.${to})`);
  checkOut(values.out);
  const extraOutputs = values["extra-output"]?.split(",").filter(Boolean);
  const r = exportModel(model, { to, out: values.out, extraOutputs });
  const { data: _data, ...result } = r;
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else if (!values.quiet) {
    const layers = Object.entries(r.precision)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    process.stdout.write(
      `${r.out}: ${r.format}, ${(r.bytes / 1e6).toFixed(2)} MB, ${r.mode} (${layers}; weights ${r.weights}) in ${(r.ms / 1000).toFixed(1)} s\n`,
    );
    for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
  }
  return 0;
}
