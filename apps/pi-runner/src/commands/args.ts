/**
 * Command-line parsing for pi-runner's commands, on the edge-audio convention of
 * `@edge-audio/common` (typed, bounded options, the --threads rule, --help, --version, --json,
 * --quiet, exit statuses 0/1/2), plus the path checks the commands share.
 */
import { statSync } from "node:fs";
import { InputError, type OptionSpecs, packageVersion, parseCommand, parseNumber } from "@edge-audio/common";

export { InputError, type OptionSpecs, UsageError } from "@edge-audio/common";

export type Values = Record<string, unknown>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

/**
 * The pi-runner version. Inside the single-file binaries no package.json of the runner's own sits
 * above the bundle: build-binaries writes one beside it (name and version), which is found first.
 */
export function runnerVersion(): string {
  return packageVersion(import.meta.url);
}

/**
 * Parses the arguments of `pi-runner <command>`; null when --help or --version was answered
 * (printed, exit 0). Warnings (--threads lowered to the core count) are not printed with --quiet.
 */
export function parseCommandLine(
  command: string,
  args: string[],
  options: OptionSpecs,
  help: string,
): Parsed | null {
  const quiet = args.includes("--quiet") || args.includes("-q");
  const name = `pi-runner ${command}`;
  const parsed = parseCommand(args, {
    name,
    help,
    version: runnerVersion(),
    options,
    maxPositionals: Number.POSITIVE_INFINITY,
    warn: (m) => {
      if (!quiet) process.stderr.write(`${name}: warning: ${m}\n`);
    },
  });
  return parsed && { values: parsed.values as Values, positionals: parsed.positionals };
}

/**
 * A flag whose value is optional (`--segments` or `--segments 6`): rewrites `flag` alone as
 * `flag=` + `absent` so that the parser's string option takes it, and `flag NUMBER` as `flag=NUMBER`.
 */
export function optionalValue(args: string[], flag: string, absent: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (a !== flag) out.push(a);
    else if (/^\d*\.?\d+$/.test(args[i + 1] ?? "")) out.push(`${flag}=${args[++i]}`);
    else out.push(`${flag}=${absent}`);
  }
  return out;
}

/** A number given to a flag, in the shared parser's format and messages. */
export function numberValue(flag: string, text: string, above: number): number {
  return parseNumber(flag, text, { above });
}

/** `--model FILE`: given, and a regular file (a folder or a device would give a raw EISDIR or hang). */
export function modelPathOption(v: Values): string {
  return requireRegularFile(String(v.model), "a model file", "pass --model with a .eam file");
}

/** Checks that `path` is a regular file (not a folder, FIFO or device) and returns it; `what` with its article ("a model file"). */
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
  if (st.isDirectory()) throw new InputError(`${path}: is a folder, not ${what}; ${fix}`);
  if (!st.isFile())
    throw new InputError(`${path}: is not a regular file (a FIFO or device), not ${what}; ${fix}`);
  return path;
}
