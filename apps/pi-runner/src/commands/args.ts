/**
 * Command-line parsing for pi-runner: one parser with typed, bounded options, the flags every
 * command takes (--help, --version, --json, --quiet, --threads) and the exit-status convention.
 */
import { readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";

/** Exit status: 0 ok, 1 runtime failure, 2 usage or input error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** A wrong flag, value or argument: exit status 2, followed by a pointer to --help. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A file or folder named on the command line that is missing or of the wrong kind: exit status 2. */
export class InputError extends Error {
  override name = "InputError";
}

export type OptionSpec =
  | { type: "boolean" }
  | { type: "string" }
  /** A decimal integer (digits only: "1e3" and "2.0" are refused) within [min, max]. */
  | { type: "int"; min: number; max?: number }
  /** A finite number > min (exclusive) or >= min. */
  | { type: "number"; min: number; exclusive?: boolean }
  /** A flag that may be followed by a number (taken only if the next argument is one). */
  | { type: "optional-number"; min: number; exclusive?: boolean };

export type Values = Record<string, string | number | boolean | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean" },
  version: { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean" },
};

const SHORT: Record<string, string> = { h: "help", q: "quiet", V: "version" };

/**
 * Parses `args` against `spec` (plus COMMON_OPTIONS). `--name value` and `--name=value` are
 * accepted; a value may start with "-" (so "--top -2" is refused by the bound, not as an unknown
 * option); "-" alone is a positional (standard input); "--" ends the options.
 */
export function parseCommandLine(command: string, args: string[], spec: Record<string, OptionSpec>): Parsed {
  const all = { ...COMMON_OPTIONS, ...spec };
  const values: Values = {};
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a === "-" || !a.startsWith("-")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const raw = a.startsWith("--") ? a.slice(2, eq > 0 ? eq : undefined) : a.slice(1);
    const name = a.startsWith("--") ? raw : SHORT[raw];
    const opt = name === undefined ? undefined : all[name];
    if (name === undefined || opt === undefined)
      throw new UsageError(`unknown option ${a} for "pi-runner ${command}"`);
    const inline = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : undefined;
    if (opt.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value, got "${a}"`);
      values[name] = true;
      continue;
    }
    if (opt.type === "optional-number") {
      const next = inline ?? args[i + 1];
      if (inline === undefined && (next === undefined || !/^[0-9.]/.test(next))) {
        values[name] = true;
        continue;
      }
      if (inline === undefined) i++;
      values[name] = toNumber(name, next!, opt.min, opt.exclusive);
      continue;
    }
    let v = inline;
    if (v === undefined) {
      v = args[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (opt.type === "string") values[name] = v;
    else if (opt.type === "int") values[name] = toInt(name, v, opt.min, opt.max);
    else values[name] = toNumber(name, v, opt.min, opt.exclusive);
  }
  return { values, positionals };
}

function toInt(name: string, v: string, min: number, max?: number): number {
  const n = /^\d+$/.test(v) ? Number(v) : Number.NaN;
  const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
  if (!Number.isSafeInteger(n) || n < min || (max !== undefined && n > max))
    throw new UsageError(`--${name} must be a whole number ${range}, got "${v}"`);
  return n;
}

function toNumber(name: string, v: string, min: number, exclusive = false): number {
  const n = /^\d*\.?\d+$/.test(v) || /^\d+\.$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || (exclusive ? n <= min : n < min))
    throw new UsageError(`--${name} must be a number ${exclusive ? ">" : ">="} ${min}, got "${v}"`);
  return n;
}

/** The most engine threads accepted: beyond the core count each only adds a worker's memory. */
export const MAX_THREADS = 64;

export const THREADS_OPTION: Record<string, OptionSpec> = {
  threads: { type: "int", min: 1, max: MAX_THREADS },
};

export const THREADS_HELP = `  --threads N      engine threads, 1 to ${MAX_THREADS} (default: the core count; more than the
                   core count is allowed, with a warning)`;

/** --threads: the core count by default; a warning (unless --quiet) beyond it. */
export function threadsOption(v: Values, warn: (msg: string) => void): number {
  const cores = availableParallelism();
  const n = v.threads === undefined ? cores : Number(v.threads);
  if (n > cores && !v.quiet)
    warn(
      `--threads ${n} is more than the ${cores} cores here; the extra threads only add memory and waiting`,
    );
  return n;
}

/** The pi-runner version, from its package.json (a copy is written beside the bundle of the binaries). */
export function runnerVersion(): string {
  for (const rel of ["../package.json", "../../package.json", "./package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "@edge-audio/pi-runner" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not there: try the next place
    }
  }
  return "unknown";
}

/** `--model FILE`: given, and a regular file (a folder or a device would give a raw EISDIR or hang). */
export function modelPathOption(v: Values, flag = "--model"): string {
  if (typeof v.model !== "string") throw new UsageError(`${flag} M.eam is required`);
  return requireRegularFile(v.model, "model file", `pass ${flag} with a .eam file`);
}

/** Checks that `path` is a regular file (not a folder, FIFO or device) and returns it. */
export function requireRegularFile(path: string, what: string, fix: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "no such file" : code === "ELOOP" ? "a symlink loop" : `cannot be read (${code})`;
    throw new InputError(`${path}: ${why}; ${fix}`);
  }
  if (st.isDirectory()) throw new InputError(`${path}: is a folder, not a ${what}; ${fix}`);
  if (!st.isFile())
    throw new InputError(`${path}: is not a regular file (a FIFO or device), not a ${what}; ${fix}`);
  return path;
}
