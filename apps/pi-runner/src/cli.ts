#!/usr/bin/env node
/**
 * pi-runner: classify audio on the device with @edge-audio/dsp and @edge-audio/engine-wasm only.
 * One file per command in commands/; this file dispatches, and turns errors into one line and an
 * exit status (0 ok, 1 runtime failure, 2 usage or input error).
 */
import "./heap.js";
import { EXIT_OK, EXIT_USAGE, runCli, UsageError } from "@edge-audio/common";
import { runnerVersion } from "./commands/args.js";
import { BENCH_HELP, benchCommand } from "./commands/bench.js";
import { CLASSIFY_HELP, classifyCommand } from "./commands/classify.js";
import { EVAL_HELP, evalCommand } from "./commands/eval.js";
import { INFO_HELP, infoCommand } from "./commands/info.js";
import { isInputFailure } from "./input-errors.js";

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
  if (cmd === "--version") {
    console.log(`pi-runner ${runnerVersion()}`);
    return EXIT_OK;
  }
  if (!cmd || cmd === "-h" || cmd === "--help" || cmd === "help") {
    console.log(MAIN_HELP);
    return cmd ? EXIT_OK : EXIT_USAGE;
  }
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!command)
    throw new UsageError(`unknown command "${cmd}"; commands: ${Object.keys(COMMANDS).join(", ")}`);
  return command.run(rest);
}

// A closed stdout (`pi-runner classify ... | head -1`) ends the run quietly with exit 0; errors
// are one line on stderr; exit 2 for usage and input errors (a bad file, model or --data folder).
runCli("pi-runner", () => main(process.argv.slice(2)), {
  isInputError: isInputFailure,
  debug: Boolean(process.env.PI_RUNNER_DEBUG || process.env.EDGE_AUDIO_DEBUG),
});
