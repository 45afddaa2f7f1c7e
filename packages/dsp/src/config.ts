import { MelConfigError } from "./errors.js";

/**
 * Everything that determines a log-Mel spectrogram. A plain JSON-serialisable object, so it can
 * travel inside model files: the features a model is served with must be computed with exactly
 * the configuration it was trained with. Defaults are librosa's (`librosa.feature.melspectrogram`
 * followed by `librosa.power_to_db`), except that centre padding is `reflect` as in librosa < 0.10.
 */
export interface MelConfig {
  /** Sample rate of the input samples in Hz (default 22050). */
  sampleRate: number;
  /** FFT size (default 2048). Powers of two from 32 use the fast path; other sizes use the float64 path. */
  nFft: number;
  /** Hop between frames in samples (default 512). */
  hopLength: number;
  /** Window length, at most nFft; the window is centred in the FFT frame and zero-padded (default nFft). */
  winLength: number;
  /** Window shape: periodic Hann (`scipy.signal.get_window("hann", N, fftbins=True)`). */
  window: "hann";
  /** Centre frames on t * hopLength by padding nFft/2 samples on both sides (default true). */
  center: boolean;
  /** Padding used when centre is true: numpy `reflect` (default) or zeros (`constant`). */
  padMode: "reflect" | "constant";
  /** Exponent of the magnitude spectrum: 2 = power (default), 1 = magnitude. */
  power: number;
  /** Number of Mel bands (default 128). */
  nMels: number;
  /** Lowest filter edge in Hz (default 0). */
  fMin: number;
  /** Highest filter edge in Hz (default sampleRate / 2). */
  fMax: number;
  /** Mel scale: `slaney` (librosa default, linear below 1 kHz, log above) or `htk`. */
  melScale: "slaney" | "htk";
  /** Filter normalisation: `slaney` (area-normalised, librosa default) or null (peak 1). */
  norm: "slaney" | null;
  /** Floor applied before the logarithm (default 1e-10). */
  amin: number;
  /** Reference power: dB = 10 log10(max(amin, S)) - 10 log10(max(amin, ref)) (default 1). */
  ref: number;
  /**
   * Dynamic range kept in dB, or null for no clamp (default 80): below the maximum of the whole
   * clip without a crop normalisation, below the maximum of each crop with one (see clipTopDb).
   */
  topDb: number | null;
  /**
   * How each model input crop (a window of frames) is normalised after it is cut out of the
   * spectrogram (see normalize.ts). Absent or "none": absolute dB, as every model written before
   * this field existed. Not a librosa parameter, so defaultMelConfig leaves it out unless asked.
   */
  normalization?: MelNormalization;
}

/**
 * Crop normalisations: "none" keeps absolute dB; "crop-max" clamps the crop to its own maximum
 * minus topDb and subtracts that maximum (0 dB at the crop's loudest cell); "crop-mean" clamps
 * the same way and subtracts the crop's mean instead.
 */
export const MEL_NORMALIZATIONS = ["none", "crop-max", "crop-mean"] as const;
export type MelNormalization = (typeof MEL_NORMALIZATIONS)[number];

/** librosa's defaults, with any overrides applied; fMax defaults to half the (overridden) sample rate. */
export function defaultMelConfig(overrides: Partial<MelConfig> = {}): MelConfig {
  const sampleRate = overrides.sampleRate ?? 22050;
  const nFft = overrides.nFft ?? 2048;
  const clean: Partial<MelConfig> = {};
  for (const [k, v] of Object.entries(overrides))
    if (v !== undefined) (clean as Record<string, unknown>)[k] = v;
  return {
    sampleRate,
    nFft,
    hopLength: 512,
    winLength: nFft,
    window: "hann",
    center: true,
    padMode: "reflect",
    power: 2,
    nMels: 128,
    fMin: 0,
    fMax: sampleRate / 2,
    melScale: "slaney",
    norm: "slaney",
    amin: 1e-10,
    ref: 1,
    topDb: 80,
    ...clean,
  };
}

const KEYS: (keyof MelConfig)[] = [
  "sampleRate",
  "nFft",
  "hopLength",
  "winLength",
  "window",
  "center",
  "padMode",
  "power",
  "nMels",
  "fMin",
  "fMax",
  "melScale",
  "norm",
  "amin",
  "ref",
  "topDb",
];
/**
 * The clamp the whole-clip spectrogram gets: topDb without a crop normalisation (librosa), none
 * with one, since each crop is then clamped to its own maximum minus topDb (normalizeCropInPlace).
 * That makes a crop cut from a whole clip equal to the same frames collected by a live stream.
 */
export function clipTopDb(config: Pick<MelConfig, "topDb" | "normalization">): number | null {
  return (config.normalization ?? "none") === "none" ? config.topDb : null;
}

/** Fields a complete config may leave out (older model files have none of them). */
const OPTIONAL_KEYS: (keyof MelConfig)[] = ["normalization"];

function int(c: Record<string, unknown>, k: string, lo: number, hi: number): void {
  const v = c[k];
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi)
    throw new MelConfigError(k, `expected an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
}
function num(c: Record<string, unknown>, k: string, lo: number, hi: number, openLo = false): void {
  const v = c[k];
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi || (openLo && v === lo))
    throw new MelConfigError(
      k,
      `expected a finite number in ${openLo ? "(" : "["}${lo}, ${hi}], got ${JSON.stringify(v)}`,
    );
}
function oneOf(c: Record<string, unknown>, k: string, values: unknown[]): void {
  if (!values.includes(c[k]))
    throw new MelConfigError(
      k,
      `expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(c[k])}`,
    );
}

/**
 * Checks a complete MelConfig (for example one read from a model file) and returns it typed.
 * Throws MelConfigError naming the field for anything missing, unknown or out of range.
 */
export function validateMelConfig(config: unknown): MelConfig {
  if (typeof config !== "object" || config === null || Array.isArray(config))
    throw new MelConfigError("(root)", `expected an object, got ${JSON.stringify(config)}`);
  const c = config as Record<string, unknown>;
  for (const k of Object.keys(c))
    if (!KEYS.includes(k as keyof MelConfig) && !OPTIONAL_KEYS.includes(k as keyof MelConfig))
      throw new MelConfigError(k, "unknown field");
  for (const k of KEYS) if (!(k in c)) throw new MelConfigError(k, "missing");
  int(c, "sampleRate", 1, 1_000_000);
  int(c, "nFft", 2, 1 << 16);
  int(c, "hopLength", 1, 1 << 24);
  int(c, "winLength", 1, c.nFft as number);
  oneOf(c, "window", ["hann"]);
  oneOf(c, "center", [true, false]);
  oneOf(c, "padMode", ["reflect", "constant"]);
  num(c, "power", 0, 4, true);
  int(c, "nMels", 1, 4096);
  const nyquist = (c.sampleRate as number) / 2;
  num(c, "fMin", 0, nyquist);
  num(c, "fMax", 0, nyquist);
  if ((c.fMax as number) <= (c.fMin as number)) throw new MelConfigError("fMax", "must be greater than fMin");
  oneOf(c, "melScale", ["slaney", "htk"]);
  oneOf(c, "norm", ["slaney", null]);
  num(c, "amin", 1e-30, 1);
  num(c, "ref", 0, Number.MAX_VALUE, true);
  if (c.topDb !== null) num(c, "topDb", 0, 1000);
  if ("normalization" in c) oneOf(c, "normalization", [...MEL_NORMALIZATIONS]);
  checkCost(c as unknown as MelConfig);
  return c as unknown as MelConfig;
}

/**
 * Bounds on what a config costs per second of audio, so that a config read from a file cannot
 * ask for enormous work: 4096 bands at a hop of 1 sample make 90 million feature values per
 * second of 22.05 kHz audio (the defaults make 5,500).
 */
export const MEL_COST_LIMITS = {
  /** Filterbank entries, nMels x (nFft / 2 + 1). */
  filterbank: 2 ** 23,
  /** Feature values per second of audio, sampleRate / hopLength x nMels. */
  valuesPerSecond: 2 ** 23,
  /** FFT input samples per second of audio, sampleRate / hopLength x nFft. */
  fftPointsPerSecond: 2 ** 28,
} as const;

function checkCost(c: MelConfig): void {
  const frames = c.sampleRate / c.hopLength;
  const fb = c.nMels * (c.nFft / 2 + 1);
  const L = MEL_COST_LIMITS;
  if (fb > L.filterbank)
    throw new MelConfigError(
      "nMels",
      `${c.nMels} bands over ${c.nFft / 2 + 1} FFT bins make a filterbank of ${fb} entries, more than ${L.filterbank}; use fewer bands or a smaller nFft`,
    );
  if (frames * c.nMels > L.valuesPerSecond)
    throw new MelConfigError(
      "hopLength",
      `a hop of ${c.hopLength} samples at ${c.sampleRate} Hz with ${c.nMels} bands makes ${Math.round(frames * c.nMels)} feature values per second of audio, more than ${L.valuesPerSecond}; use a longer hop or fewer bands`,
    );
  if (frames * c.nFft > L.fftPointsPerSecond)
    throw new MelConfigError(
      "hopLength",
      `a hop of ${c.hopLength} samples at ${c.sampleRate} Hz with nFft ${c.nFft} transforms ${Math.round(frames * c.nFft)} samples per second of audio, more than ${L.fftPointsPerSecond}; use a longer hop or a smaller nFft`,
    );
}

/** defaultMelConfig + validateMelConfig: the config used by every entry point. */
export function resolveMelConfig(partial: Partial<MelConfig> = {}): MelConfig {
  return validateMelConfig(defaultMelConfig(partial));
}
