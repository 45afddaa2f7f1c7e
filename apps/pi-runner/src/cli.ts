#!/usr/bin/env node
/**
 * pi-runner: classify audio on the device with @edge-audio/dsp and @edge-audio/engine-wasm only.
 * One file per command in commands/; this file dispatches, and turns errors into one line and an
 * exit status (0 ok, 1 runtime failure, 2 usage or input error).
 */
import "./heap.js";
import { RunnerError } from "./classifier.js";
import { EXIT, InputError, runnerVersion, UsageError } from "./commands/args.js";
import { BENCH_HELP, benchCommand } from "./commands/bench.js";
import { CLASSIFY_HELP, classifyCommand } from "./commands/classify.js";
import { EVAL_HELP, evalCommand } from "./commands/eval.js";
import { INFO_HELP, infoCommand } from "./commands/info.js";
import { DatasetError } from "./dataset.js";
import { WavStreamError } from "./wav-stream.js";

const MAIN_HELP = `pi-runner: audio classification on the device, without TensorFlow.

usage: pi-runner <command> [options]

commands:
  classify --model M.eam FILE...   classify audio files (or - for a WAV stream on stdin)
  eval --model M.eam --data DIR    accuracy, confusion matrix, speed and memory over a folder
  info M.eam                       what a model file holds
  bench --model M.eam              load time, inference time and memory for one crop (--profile)

Every command takes --help, --version, --json and --quiet. Exit status: 0 ok, 1 runtime
failure, 2 usage or input error.
Run "pi-runner <command> --help" for the options of a command.`;

const COMMANDS: Record<string, { help: string; run: (args: string[]) => Promise<number> }> = {
  classify: { help: CLASSIFY_HELP, run: classifyCommand },
  eval: { help: EVAL_HELP, run: evalCommand },
  info: { help: INFO_HELP, run: infoCommand },
  bench: { help: BENCH_HELP, run: benchCommand },
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === "-V" || cmd === "--version") {
    console.log(`pi-runner ${runnerVersion()}`);
    return EXIT.ok;
  }
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") {
    console.log(MAIN_HELP);
    return cmd ? EXIT.ok : EXIT.usage;
  }
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!command)
    throw new UsageError(`unknown command "${cmd}"; commands: ${Object.keys(COMMANDS).join(", ")}`);
  const options = rest.slice(0, rest.includes("--") ? rest.indexOf("--") : undefined);
  if (options.includes("-h") || options.includes("--help")) {
    console.log(command.help);
    return EXIT.ok;
  }
  if (options.includes("-V") || options.includes("--version")) {
    console.log(`pi-runner ${runnerVersion()}`);
    return EXIT.ok;
  }
  return command.run(rest);
}

/**
 * A closed standard output (`pi-runner classify ... | head -1`) ends the run quietly with exit
 * status 0: the reader has what it wanted. Other output errors are reported as failures.
 */
function endQuietlyOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(EXIT.ok);
      // stderr itself may be what failed: exit without writing to it
      process.exit(EXIT.failure);
    });
  }
}

/** Error classes whose message is the whole story (no stack trace, even with PI_RUNNER_DEBUG). */
const USER_ERRORS = new Set([
  "UsageError",
  "InputError",
  "RunnerError",
  "DatasetError",
  "WavStreamError",
  "AudioDecodeError",
  "DspError",
  "EamFormatError",
  "MelConfigError",
]);

function exitStatusOf(e: unknown): number {
  if (e instanceof UsageError || e instanceof InputError || e instanceof DatasetError) return EXIT.usage;
  return EXIT.failure;
}

endQuietlyOnClosedOutput();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = e as Error;
    const known = err instanceof RunnerError || err instanceof WavStreamError || USER_ERRORS.has(err?.name);
    process.stderr.write(`pi-runner: ${err?.message ?? String(e)}\n`);
    if (err instanceof UsageError) process.stderr.write('run "pi-runner --help" for usage\n');
    if (!known && process.env.PI_RUNNER_DEBUG) process.stderr.write(`${err?.stack}\n`);
    process.exitCode = exitStatusOf(e);
  },
);
