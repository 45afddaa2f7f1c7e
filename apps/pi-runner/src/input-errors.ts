import { fileErrorMessage, InputError, UsageError } from "@edge-audio/common";
import { AudioDecodeError, DspError } from "@edge-audio/dsp";
import { RunnerError } from "./classifier.js";
import { DatasetError } from "./dataset.js";
import { WavStreamError } from "./wav-stream.js";

/**
 * Whether an error is the input's fault (exit 2: a missing, unreadable, damaged or refused audio
 * file, model or folder, which the user can fix) rather than a failure while running (exit 1).
 */
export function isInputFailure(e: unknown): boolean {
  return (
    e instanceof InputError ||
    e instanceof UsageError ||
    e instanceof AudioDecodeError ||
    e instanceof DspError ||
    e instanceof RunnerError ||
    e instanceof DatasetError ||
    e instanceof WavStreamError ||
    fileErrorMessage(e) !== null
  );
}
