export { argmax } from "./argmax.js";
export {
  type BooleanOption,
  type CommandSpec,
  type IntegerListOption,
  type IntegerOption,
  joinNegativeValues,
  type NumberListOption,
  type NumberOption,
  type OptionSpec,
  type OptionSpecs,
  type ParseContext,
  type Parsed,
  parseCommand,
  parseInteger,
  parseNumber,
  parseOptions,
  type StandardValues,
  type StringOption,
  type ThreadsOption,
  threadsOption,
  type ValueOf,
  type Values,
} from "./args.js";
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, fileErrorMessage, InputError, UsageError } from "./errors.js";
export { type ClassificationReport, type ClassMetrics, classificationReport } from "./metrics.js";
export {
  formatDuration,
  formatRate,
  ProgressBar,
  type ProgressOptions,
  type ProgressStream,
} from "./progress.js";
export { type ErrorReport, exitQuietlyOnClosedPipe, type RunOptions, reportError, runCli } from "./run.js";
export { chooseThreads, coreCount, type ThreadChoice } from "./threads.js";
export { packageVersion } from "./version.js";
