/**
 * The edge-audio command-line convention, in the small form the `edge-audio-dsp` command needs.
 * @edge-audio/dsp imports no other edge-audio package (it is a leaf beside engine-wasm), so it
 * cannot use @edge-audio/common's parser; this file follows the same rules (strict flags, negative
 * numbers as values, whole numbers in digits only, exit 0 / 1 / 2, --version, a closed stdout ends
 * quietly) and packages/cli-tests checks both against the built commands.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

export type FlagTypes = Record<string, "string" | "boolean">;

export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parses argv against `flags` plus --help/-h, --version, --json and --quiet/-q (strict). */
export function parseFlags(argv: readonly string[], flags: FlagTypes): ParsedFlags {
  const all: FlagTypes = { help: "boolean", version: "boolean", json: "boolean", quiet: "boolean", ...flags };
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [k, type] of Object.entries(all)) options[k] = { type };
  options.help!.short = "h";
  options.quiet!.short = "q";
  try {
    const r = parseArgs({
      args: joinNegativeValues(argv, all),
      options,
      strict: true,
      allowPositionals: true,
    });
    return { values: r.values as ParsedFlags["values"], positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.split("\n")[0]!;
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    throw new UsageError(unknown ? `unknown option ${unknown[1]}` : msg);
  }
}

/** `--flag -12` becomes `--flag=-12` when --flag takes a value (else Node calls it ambiguous). */
function joinNegativeValues(argv: readonly string[], flags: FlagTypes): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === "--") return out.concat(argv.slice(i));
    if (
      a.startsWith("--") &&
      flags[a.slice(2)] === "string" &&
      next !== undefined &&
      /^-(\d|\.\d)/.test(next)
    ) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** A whole number in decimal digits ("1e3" and "1.5" refused) of at least `min`. */
export function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^[+-]?\d+$/.test(text) || !Number.isSafeInteger(n))
    throw new UsageError(`${flag} takes a whole number (digits only), got "${text}"`);
  if (n < min) throw new UsageError(`${flag} must be at least ${min}, got ${n}`);
  return n;
}

/** A finite decimal number of at least `min`. */
export function decimalNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(text) || !Number.isFinite(n))
    throw new UsageError(`${flag} takes a number, got "${text}"`);
  if (n < min) throw new UsageError(`${flag} must be at least ${min}, got ${n}`);
  return n;
}

/** This package's version, from its package.json (one folder above dist/). */
export function packageVersion(): string {
  return (
    JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
  ).version;
}

/** `cmd | head -1`: when the reader of stdout goes away, end quietly with exit 0. */
export function exitQuietlyOnClosedPipe(): void {
  for (const s of [process.stdout, process.stderr])
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(EXIT_OK);
      throw e;
    });
}
