/** Running a command line: exit codes, one-line errors, a closed stdout. */
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fileErrorMessage, InputError, UsageError } from "./errors.js";

/**
 * Ends the process quietly with exit 0 when the reader of stdout (or stderr) goes away, as in
 * `cmd | head -1`: the command has nobody left to tell anything to. Other stream errors still throw.
 */
export function exitQuietlyOnClosedPipe(
  streams: NodeJS.WritableStream[] = [process.stdout, process.stderr],
  exit: (code: number) => void = (c) => process.exit(c),
): void {
  for (const s of streams)
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") exit(EXIT_OK);
      else throw e;
    });
}

export interface ErrorReport {
  code: number;
  message: string;
}

export interface RunOptions {
  /** Further errors that mean "bad input" (exit 2), e.g. a package's own format error class. */
  isInputError?: (e: unknown) => boolean;
  /** Print stacks of unexpected errors (default: when EDGE_AUDIO_DEBUG is set). */
  debug?: boolean;
}

/**
 * The exit code and the one-line message for an error thrown by a command: 2 for a UsageError
 * (with a pointer to --help), an InputError, a file-system error on an input path or an error the
 * caller marks as input; 1 for anything else.
 */
export function reportError(name: string, e: unknown, opts: RunOptions = {}): ErrorReport {
  const text = e instanceof Error ? e.message : String(e);
  if (e instanceof UsageError)
    return { code: EXIT_USAGE, message: `${name}: ${text} (see ${e.command ?? name} --help)` };
  if (String((e as { code?: unknown })?.code).startsWith("ERR_PARSE_ARGS"))
    return { code: EXIT_USAGE, message: `${name}: ${text.split("\n")[0]} (see ${name} --help)` };
  if (e instanceof InputError || opts.isInputError?.(e))
    return { code: EXIT_USAGE, message: `${name}: ${text}` };
  const file = fileErrorMessage(e);
  if (file) return { code: EXIT_USAGE, message: `${name}: ${file}` };
  return { code: EXIT_FAILURE, message: `${name}: ${text}` };
}

/**
 * Runs `main` as a command line: installs the closed-pipe handler, prints a thrown error as one line
 * on stderr and exits with 0, 1 or 2 (see errors.ts). `main` returns its exit code (default 0).
 */
export function runCli(
  name: string,
  main: () => Promise<number | undefined> | number | undefined,
  opts: RunOptions = {},
): void {
  exitQuietlyOnClosedPipe();
  const debug = opts.debug ?? Boolean(process.env.EDGE_AUDIO_DEBUG);
  const finish = (code: number) => {
    // Let buffered output drain before leaving (worker threads could otherwise keep the process up).
    process.stdout.write("", () => process.exit(code));
  };
  Promise.resolve()
    .then(main)
    .then(
      (code) => finish(code ?? EXIT_OK),
      (e: unknown) => {
        const r = reportError(name, e, opts);
        process.stderr.write(`${r.message}\n`);
        if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
        finish(r.code);
      },
    );
}
