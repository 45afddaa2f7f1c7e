/** The options that load a model (--model, --threads, --max-memory, --max-work, --fma), shared by the commands. */
import { Classifier, type OpenOptions } from "../classifier.js";
import { InputError, modelPathOption, type OptionSpecs, type Values } from "./args.js";

/** --threads and the load limits. */
export const LOAD_OPTIONS = {
  threads: { type: "threads" },
  "max-memory": { type: "integer", min: 1 },
  "max-work": { type: "number", above: 0 },
  fma: { type: "boolean" },
} satisfies OptionSpecs;

export const MODEL_OPTIONS = {
  model: { type: "string", required: true, placeholder: "M.eam" },
  ...LOAD_OPTIONS,
} satisfies OptionSpecs;

export const LOAD_HELP = `  --threads N      engine threads (default: the core count; more is lowered to it, with a warning)
  --max-memory MIB refuse models needing more memory (default 1024)
  --max-work GOPS  refuse models needing more work per crop, in 10^9 operations (default 50)
  --fma            FP32 and fp16 layers' GEMMs with fused multiply-adds (relaxed SIMD), when the
                   engine's self-check finds them fused in every V8 tier (else 128-bit SIMD, as
                   without it; the bench command prints which); results differ in the last bits`;

export const MODEL_HELP = `  --model FILE     model file (.eam)                                   (required)
${LOAD_HELP}`;

export const COMMON_HELP = `  --json           JSON output
  -q, --quiet      no progress bar, notes or warnings on stderr (errors are still printed)
  --version        print the version
  -h, --help       this help`;

/**
 * The engine's load limits from --max-memory (MiB) and --max-work (10^9 operations per crop), and
 * its fused multiply-add GEMMs from --fma.
 */
export function limitOptions(v: Values): OpenOptions {
  const o: OpenOptions = {};
  if (v.fma) o.fma = true;
  if (v["max-memory"] !== undefined) o.maxMemoryBytes = Number(v["max-memory"]) * 2 ** 20;
  if (v["max-work"] !== undefined) o.maxWorkPerCrop = Number(v["max-work"]) * 1e9;
  return o;
}

/** Warnings on stderr, unless --quiet. */
export function warner(v: Values): (msg: string) => void {
  return (msg) => {
    if (!v.quiet) process.stderr.write(`pi-runner: warning: ${msg}\n`);
  };
}

/**
 * Loads a model with --threads and the limits. Whatever refuses it (a damaged file, a model beyond
 * the limits, a Mel configuration that does not fit its input) is an input error: exit 2.
 */
export async function loadClassifier(path: string, v: Values, extra: OpenOptions = {}): Promise<Classifier> {
  try {
    return await Classifier.open(path, Number(v.threads), { ...limitOptions(v), ...extra });
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

/** Loads the model named by --model. */
export function openModel(v: Values): Promise<Classifier> {
  return loadClassifier(modelPathOption(v), v);
}
