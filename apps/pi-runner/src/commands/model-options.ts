/** The options that load a model (--model, --threads, --max-memory, --max-work), shared by the commands. */
import { Classifier, type OpenOptions } from "../classifier.js";
import {
  modelPathOption,
  type OptionSpec,
  THREADS_HELP,
  THREADS_OPTION,
  threadsOption,
  type Values,
} from "./args.js";

/** --threads and the load limits. */
export const LOAD_OPTIONS: Record<string, OptionSpec> = {
  ...THREADS_OPTION,
  "max-memory": { type: "int", min: 1 },
  "max-work": { type: "number", min: 0, exclusive: true },
};

export const MODEL_OPTIONS: Record<string, OptionSpec> = { model: { type: "string" }, ...LOAD_OPTIONS };

export const MODEL_HELP = `  --model FILE     model file (.eam)                                   (required)
${THREADS_HELP}
  --max-memory MIB refuse models needing more memory (default 1024)
  --max-work GOPS  refuse models needing more work per crop, in 10^9 operations (default 50)`;

export const COMMON_HELP = `  --json           JSON output
  -q, --quiet      no progress or warnings on stderr (errors are still printed)
  -V, --version    print the version
  -h, --help       this help`;

/** The engine's load limits from --max-memory (MiB) and --max-work (10^9 operations per crop). */
export function limitOptions(v: Values): OpenOptions {
  const o: OpenOptions = {};
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

/** Loads the model named by --model with --threads and the limits. */
export async function openModel(v: Values, extra: OpenOptions = {}): Promise<Classifier> {
  const path = modelPathOption(v);
  return Classifier.open(path, threadsOption(v, warner(v)), { ...limitOptions(v), ...extra });
}
