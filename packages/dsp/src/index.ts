export {
  clipTopDb,
  defaultMelConfig,
  MEL_COST_LIMITS,
  MEL_NORMALIZATIONS,
  type MelConfig,
  type MelNormalization,
  resolveMelConfig,
  validateMelConfig,
} from "./config.js";
export { cropFramesFor, evalCropOffsets, extractCrop } from "./crops.js";
export {
  AUDIO_EXTENSIONS,
  clipId,
  isFolder,
  type LabelledAudio,
  labelFolderRoot,
  listLabelledAudio,
  type SkippedEntry,
} from "./dataset.js";
export {
  type DecodedAudio,
  decodeAudio,
  decodeAudioAsync,
  decodeCompressedStream,
  type PcmEncoding,
  type ShortFilePolicy,
  sniffFormat,
} from "./decode.js";
export {
  AudioDecodeError,
  type AudioDecodeErrorCode,
  DspError,
  type DspErrorCode,
  MelConfigError,
} from "./errors.js";
export { RealFFT } from "./fft.js";
export {
  frameCount,
  hannWindow,
  hzToMel,
  type MelFilterbank,
  melFilterbank,
  melFrequencies,
  melToHz,
  padSignal,
} from "./filters.js";
export {
  fastPathSupports,
  type KernelFlavour,
  kernelFlavour,
  kernelWasmUrl,
  registerKernelWasm,
} from "./kernel.js";
export {
  type FileSpectrogram,
  type LoadOptions,
  loadAudio,
  loadAudioChannels,
  logMelSpectrogramFile,
  MIN_RESAMPLE_RATE,
  MonoAtRate,
  MonoMixer,
  mixToMono,
} from "./load.js";
export {
  clampTopDbInPlace,
  type FastOptions,
  logMelSpectrogram,
  type MelSpectrogram,
  MelStream,
  type MelStreamFrames,
  melSpectrogram,
} from "./logmel.js";
export { modelCrop, normalizationOf, normalizeCropInPlace, normalizeCropReference } from "./normalize.js";
export {
  applyTopDb,
  fftComplex64,
  logMelSpectrogramReference,
  melSpectrogramReference,
  powerToDb,
  stftPowerReference,
} from "./reference.js";
export {
  designResampleFilter,
  type ResampleFilter,
  type ResampleOptions,
  resample,
  StreamResampler,
} from "./resample.js";
export { resampleReference } from "./resample-reference.js";
export {
  type CompressedStreamDecoder,
  type DecodedPiece,
  type MissingAudio,
  openCompressedDecoder,
  type StreamDecodeReport,
} from "./stream-decode.js";
export {
  type AudioFile,
  type AudioFileReport,
  FILE_READ_BYTES,
  openAudioFile,
  openRegularFile,
} from "./stream-file.js";
export { SpectrogramBuilder } from "./stream-spectrogram.js";
export { encodeWav, parseWavFmt, type WavFmt, wavEncoding } from "./wav.js";
