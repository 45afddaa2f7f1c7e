/** Reasons a file or byte buffer could not be decoded. */
export type AudioDecodeErrorCode =
  | "EMPTY"
  | "NOT_AUDIO"
  | "TRUNCATED"
  | "BAD_HEADER"
  | "UNSUPPORTED_ENCODING"
  | "NON_FINITE"
  | "ASYNC_REQUIRED"
  | "DECODER_FAILED"
  | "DAMAGED"
  | "READ_FAILED";

/** Thrown when audio bytes cannot be turned into samples. The message names the file and the problem. */
export class AudioDecodeError extends Error {
  override readonly name: string = "AudioDecodeError";
  readonly code: AudioDecodeErrorCode;
  readonly file: string | undefined;
  constructor(code: AudioDecodeErrorCode, detail: string, file?: string) {
    super(`${file ?? "<audio bytes>"}: ${detail}`);
    this.code = code;
    this.file = file;
  }
}

export type DspErrorCode =
  | "BAD_CONFIG"
  | "EMPTY_INPUT"
  | "NON_FINITE_INPUT"
  | "TOO_SHORT"
  | "BAD_ARGUMENT"
  | "STATE";

/** Thrown for invalid configurations and unusable sample arrays (NaN/Inf, empty, too short). */
export class DspError extends Error {
  override readonly name: string = "DspError";
  readonly code: DspErrorCode;
  constructor(code: DspErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Thrown by validateMelConfig; `field` names the offending MelConfig key. */
export class MelConfigError extends DspError {
  override readonly name: string = "MelConfigError";
  readonly field: string;
  constructor(field: string, message: string) {
    super("BAD_CONFIG", `MelConfig.${field}: ${message}`);
    this.field = field;
  }
}
