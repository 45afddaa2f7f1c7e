/**
 * The argument parser of every edge-audio command line: node:util parseArgs (strict) plus typed,
 * bounded numbers, negative numbers as values (`--gain -12`), `--threads`, and the standard flags
 * --help, --version, --json and --quiet.
 */
import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";
import { chooseThreads, coreCount } from "./threads.js";

interface Common {
  /** One-letter alias, e.g. "o" for -o. */
  short?: string;
}
interface Bounds {
  /** Inclusive lower bound. */
  min?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Exclusive lower bound (for "more than 0", e.g. a learning rate). */
  above?: number;
}
/** An option the command cannot run without. */
interface Requirable {
  /** Refuse the command when the flag is absent. */
  required?: boolean;
  /** The value's name in messages, e.g. "M.eam" in "--model M.eam is required". */
  placeholder?: string;
}
export interface StringOption extends Common, Requirable {
  type: "string";
  default?: string;
  /** The allowed values; anything else is a usage error naming them. */
  choices?: readonly string[];
  /** The flag may be repeated; the value is then the list of every occurrence (empty when absent). */
  multiple?: boolean;
}
export interface BooleanOption extends Common {
  type: "boolean";
}
/** A whole number in decimal digits: "1e3", "1.5" and "0x10" are refused. */
export interface IntegerOption extends Common, Bounds, Requirable {
  type: "integer";
  default?: number;
}
/** A finite decimal number, exponent allowed ("0.002", "2e-3", "-12"). */
export interface NumberOption extends Common, Bounds, Requirable {
  type: "number";
  default?: number;
}
/** A comma-separated list of whole numbers ("1,2,4"), each within the bounds. */
export interface IntegerListOption extends Common, Bounds {
  type: "integer-list";
  default?: readonly number[];
}
/** A comma-separated list of numbers, each within the bounds. */
export interface NumberListOption extends Common, Bounds {
  type: "number-list";
  default?: readonly number[];
}
/** `--threads N`: see threads.ts for the rule. Always yields a number. */
export interface ThreadsOption extends Common {
  type: "threads";
}
export type OptionSpec =
  | StringOption
  | BooleanOption
  | IntegerOption
  | NumberOption
  | IntegerListOption
  | NumberListOption
  | ThreadsOption;
export type OptionSpecs = Record<string, OptionSpec>;

/** The parsed value type of one option. */
export type ValueOf<S extends OptionSpec> = S extends BooleanOption
  ? boolean
  : S extends ThreadsOption
    ? number
    : S extends { type: "string"; multiple: true }
      ? string[]
      : S extends { type: "string"; choices: readonly (infer C)[] }
        ? S extends { default: string } | { required: true }
          ? C
          : C | undefined
        : S extends StringOption
          ? S extends { default: string } | { required: true }
            ? string
            : string | undefined
          : S extends IntegerOption | NumberOption
            ? S extends { default: number } | { required: true }
              ? number
              : number | undefined
            : S extends { default: readonly number[] }
              ? number[]
              : number[] | undefined;

export interface StandardValues {
  help: boolean;
  version: boolean;
  json: boolean;
  quiet: boolean;
}
export type Values<O extends OptionSpecs> = { -readonly [K in keyof O]: ValueOf<O[K]> } & StandardValues;

export interface Parsed<O extends OptionSpecs> {
  values: Values<O>;
  positionals: string[];
  /** Warnings met while parsing (e.g. --threads lowered to the core count); already printed. */
  warnings: string[];
}

export interface ParseContext {
  /** Most positional arguments accepted (default 0: any stray word is a usage error). */
  maxPositionals?: number;
  /** Core count for --threads (default os.availableParallelism()). */
  cores?: number;
  /** Where warnings go (default: stderr, prefixed with the command name when given). */
  warn?: (message: string) => void;
  /** The command's name in warnings, e.g. "edge-audio train". */
  name?: string;
}

const STANDARD: OptionSpecs = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
};

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/** Parses one whole number of a flag, in bounds, or throws a UsageError naming the flag. */
export function parseInteger(flag: string, text: string, bounds: Bounds = {}): number {
  if (!INTEGER.test(text.trim()))
    throw new UsageError(`${flag} takes a whole number (digits only), got "${text}"`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${flag} is too large: "${text}"`);
  return checkBounds(flag, n, bounds);
}

/** Parses one finite decimal number of a flag, in bounds, or throws a UsageError naming the flag. */
export function parseNumber(flag: string, text: string, bounds: Bounds = {}): number {
  const n = Number(text);
  if (!DECIMAL.test(text.trim()) || !Number.isFinite(n))
    throw new UsageError(`${flag} takes a number, got "${text}"`);
  return checkBounds(flag, n, bounds);
}

function checkBounds(flag: string, n: number, { min, max, above }: Bounds): number {
  if (min !== undefined && n < min) throw new UsageError(`${flag} must be at least ${min}, got ${n}`);
  if (above !== undefined && n <= above) throw new UsageError(`${flag} must be more than ${above}, got ${n}`);
  if (max !== undefined && n > max) throw new UsageError(`${flag} must be at most ${max}, got ${n}`);
  return n;
}

function parseList(flag: string, text: string, one: (f: string, t: string) => number): number[] {
  const parts = text.split(",").map((s) => s.trim());
  if (parts.some((p) => p === ""))
    throw new UsageError(`${flag} takes a comma-separated list, got "${text}"`);
  return parts.map((p) => one(flag, p));
}

const takesValue = (s: OptionSpec | undefined): boolean => s !== undefined && s.type !== "boolean";

/**
 * Rewrites `--flag -12` as `--flag=-12` when --flag takes a value, so negative numbers are values and
 * not Node's "argument is ambiguous". Words after `--` are left alone.
 */
export function joinNegativeValues(argv: readonly string[], specs: OptionSpecs): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (a.startsWith("--") && !a.includes("=") && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      if (takesValue(specs[a.slice(2)])) {
        out.push(`${a}=${next}`);
        i++;
        continue;
      }
    }
    out.push(a);
  }
  return out;
}

function parseErrorMessage(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const msg = String(err.message ?? e).split("\n")[0]!;
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const m = /Unknown option '([^']+)'/.exec(msg);
    return `unknown option ${m ? m[1] : msg}`;
  }
  if (err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const m = /Unexpected argument '([^']*)'/.exec(msg);
    return `unexpected argument "${m ? m[1] : msg}"`;
  }
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const m = /Option '([^']+)'/.exec(msg);
    if (m && /argument missing/.test(msg)) return `${m[1]!.split(" ")[0]} needs a value`;
    if (m && /ambiguous/.test(msg)) {
      const flag = m[1]!.split(" ")[0];
      return `${flag} needs a value (to give one that starts with "-", write ${flag}=-VALUE)`;
    }
    return msg.replace(/\.$/, "");
  }
  return msg;
}

/**
 * Parses a command line against `options` plus --help/-h, --version, --json and --quiet/-q.
 * Throws UsageError (exit 2) for anything wrong. Does not act on --help or --version: see
 * `parseCommand` for that.
 */
export function parseOptions<O extends OptionSpecs>(
  argv: readonly string[],
  options: O,
  ctx: ParseContext = {},
): Parsed<O> {
  for (const k of Object.keys(options))
    if (k in STANDARD) throw new Error(`option --${k} is standard and cannot be redefined`);
  const specs: OptionSpecs = { ...STANDARD, ...options };
  const nodeOptions: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [k, s] of Object.entries(specs))
    nodeOptions[k] = {
      type: s.type === "boolean" ? "boolean" : "string",
      ...(s.short ? { short: s.short } : {}),
      ...(s.type === "string" && s.multiple ? { multiple: true } : {}),
    };
  let raw: { values: Record<string, RawValue>; positionals: string[] };
  try {
    raw = parseArgs({
      args: joinNegativeValues(argv, specs),
      options: nodeOptions,
      strict: true,
      allowPositionals: true,
    }) as typeof raw;
  } catch (e) {
    throw new UsageError(parseErrorMessage(e));
  }
  const max = ctx.maxPositionals ?? 0;
  if (raw.positionals.length > max)
    throw new UsageError(
      max === 0
        ? `unexpected argument "${raw.positionals[0]}"`
        : `at most ${max} argument${max === 1 ? "" : "s"} expected, got ${raw.positionals.length}`,
    );
  const warnings: string[] = [];
  const warn = ctx.warn ?? ((m: string) => process.stderr.write(`${ctx.name ? `${ctx.name}: ` : ""}${m}\n`));
  const values: Record<string, unknown> = {};
  const helpOrVersion = Boolean(raw.values.help || raw.values.version);
  for (const [k, s] of Object.entries(specs)) {
    const v = convert(`--${k}`, s, raw.values[k], ctx.cores, helpOrVersion);
    values[k] = v.value;
    if (v.warning) {
      warnings.push(v.warning);
      warn(v.warning);
    }
  }
  return { values: values as Values<O>, positionals: raw.positionals, warnings };
}

type RawValue = string | boolean | string[] | undefined;

function convert(
  flag: string,
  s: OptionSpec,
  v: RawValue,
  cores: number | undefined,
  lenient: boolean,
): { value: unknown; warning?: string } {
  switch (s.type) {
    case "boolean":
      return { value: v === true };
    case "string": {
      if (s.multiple) return convertMultiple(flag, s, (v as string[] | undefined) ?? [], lenient);
      if (v === undefined) return { value: absent(flag, s, lenient) };
      const text = String(v);
      if (s.choices && !s.choices.includes(text))
        throw new UsageError(`${flag} must be one of ${s.choices.join(", ")}, got "${text}"`);
      return { value: text };
    }
    case "integer":
      if (v === undefined) return { value: absent(flag, s, lenient) };
      return { value: parseInteger(flag, String(v), s) };
    case "number":
      if (v === undefined) return { value: absent(flag, s, lenient) };
      return { value: parseNumber(flag, String(v), s) };
    case "integer-list":
      return {
        value:
          v === undefined ? s.default?.slice() : parseList(flag, String(v), (f, t) => parseInteger(f, t, s)),
      };
    case "number-list":
      return {
        value:
          v === undefined ? s.default?.slice() : parseList(flag, String(v), (f, t) => parseNumber(f, t, s)),
      };
    case "threads": {
      const requested = v === undefined ? undefined : parseInteger(flag, String(v), { min: 1 });
      const c = chooseThreads(requested, cores ?? coreCount());
      return { value: c.threads, warning: c.warning };
    }
  }
}

/** The value of an option not given: its default, or a usage error when it is required. */
function absent<T>(flag: string, s: Requirable & { default?: T }, lenient: boolean): T | undefined {
  if (s.required && !lenient) throw new UsageError(`${flag} ${s.placeholder ?? "VALUE"} is required`);
  return s.default;
}

function convertMultiple(flag: string, s: StringOption, v: string[], lenient: boolean): { value: string[] } {
  if (v.length === 0 && s.required && !lenient)
    throw new UsageError(`${flag} ${s.placeholder ?? "VALUE"} is required`);
  for (const text of v)
    if (s.choices && !s.choices.includes(text))
      throw new UsageError(`${flag} must be one of ${s.choices.join(", ")}, got "${text}"`);
  return { value: v };
}

/** A command's definition: what `parseCommand` needs to answer --help and --version itself. */
export interface CommandSpec<O extends OptionSpecs> extends ParseContext {
  /** e.g. "edge-audio train"; printed before --version and in warnings. */
  name: string;
  /** The full --help text. */
  help: string;
  /** The package version (see packageVersion). */
  version: string;
  options: O;
}

/**
 * Parses a command line; on --help prints the help text, on --version prints "NAME VERSION", to
 * `out` (stdout), and returns null (the command then exits 0). --help wins over errors in the rest of
 * the line, so `cmd --bogus --help` still shows the help.
 */
export function parseCommand<O extends OptionSpecs>(
  argv: readonly string[],
  spec: CommandSpec<O>,
  out: { write(s: string): unknown } = process.stdout,
): Parsed<O> | null {
  const beforeEnd = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  const wantsHelp = beforeEnd.includes("--help") || beforeEnd.includes("-h");
  let parsed: Parsed<O>;
  try {
    parsed = parseOptions(argv, spec.options, spec);
  } catch (e) {
    if (wantsHelp && e instanceof UsageError) {
      out.write(`${spec.help.trimEnd()}\n`);
      return null;
    }
    if (e instanceof UsageError) e.command ??= spec.name;
    throw e;
  }
  if (parsed.values.help) {
    out.write(`${spec.help.trimEnd()}\n`);
    return null;
  }
  if (parsed.values.version) {
    out.write(`${spec.name} ${spec.version}\n`);
    return null;
  }
  return parsed;
}

/** Shorthand for the --threads option. */
export const threadsOption = (): ThreadsOption => ({ type: "threads" });
