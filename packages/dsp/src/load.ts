import { readFile } from "node:fs/promises";
import { clipTopDb, type MelConfig, resolveMelConfig } from "./config.js";
import {
  type DecodedAudio,
  decodeAudioAsync,
  decodePcmFrames,
  type PcmLayout,
  sniffFormat,
} from "./decode.js";
import { AudioDecodeError } from "./errors.js";
import { frameCount } from "./filters.js";
import { clampTopDbInPlace, type MelSpectrogram, MelStream } from "./logmel.js";
import { type ResampleOptions, resample, StreamResampler } from "./resample.js";
import {
  type DecodedPiece,
  openAudioFile,
  openRegularFile,
  pcmFileLayout,
  readAt,
  readError,
} from "./stream-file.js";

export interface LoadOptions {
  /** Target sample rate in Hz (default 22050); null keeps the file's rate. */
  sampleRate?: number | null;
  /** Average the channels into one (default true for loadAudio). */
  mono?: boolean;
  resampler?: ResampleOptions;
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw readError(path, e);
  }
}

/** Bytes read per step when an uncompressed file is decoded in pieces. */
export const PCM_READ_BYTES = 1 << 16;

/**
 * Reads a WAV or Sun/NeXT .au file in pieces of about `chunkBytes` and hands each run of decoded
 * frames to `piece` (per-channel arrays reused between calls, valid for `frames` samples, the
 * first being frame `at` of the file). `accept` sees the layout first and may decline. Returns
 * the layout, or null for other formats, declined layouts, files that change while being read
 * and bad samples; the caller then decodes the whole file, which also gives the canonical error
 * for a damaged one. Chunks before the audio are skipped unread, however large.
 */
async function readPcmPieces(
  path: string,
  chunkBytes: number,
  accept: (layout: PcmLayout) => boolean,
  piece: (channels: Float32Array[], frames: number, at: number) => void,
): Promise<PcmLayout | null> {
  const { fh, size: total } = await openRegularFile(path);
  try {
    if (!(total > 0)) return null;
    const head = new Uint8Array(Math.min(total, Math.max(chunkBytes, 64)));
    if ((await readAt(fh, head, 0)) !== head.length) return null;
    const layout = await pcmFileLayout(fh, total, head, path, "refuse");
    if (!layout || !accept(layout)) return null;
    const step = Math.max(1, Math.floor(chunkBytes / layout.frameBytes));
    const buf = new Uint8Array(Math.min(step, Math.max(1, layout.frames)) * layout.frameBytes);
    const channels = Array.from(
      { length: layout.channels },
      () => new Float32Array(buf.length / layout.frameBytes),
    );
    for (let f = 0; f < layout.frames; f += step) {
      const n = Math.min(step, layout.frames - f);
      const bytes = buf.subarray(0, n * layout.frameBytes);
      if ((await readAt(fh, bytes, layout.start + f * layout.frameBytes)) !== bytes.length) return null;
      try {
        decodePcmFrames(layout, bytes, n, channels, 0, path, f);
      } catch (e) {
        // a bad sample: the whole-file decoder reports the first one, channel by channel
        if (e instanceof AudioDecodeError) return null;
        throw e;
      }
      piece(channels, n, f);
    }
    return layout;
  } finally {
    await fh.close();
  }
}

/**
 * Decodes a WAV or Sun/NeXT .au file in pieces of `chunkBytes`: the samples are converted as they
 * are read, so the file's bytes are never held whole beside them. Returns null where the whole
 * file is to be decoded instead (see readPcmPieces).
 */
export async function decodePcmFile(path: string, chunkBytes = PCM_READ_BYTES): Promise<DecodedAudio | null> {
  let out: Float32Array[] = [];
  const layout = await readPcmPieces(
    path,
    chunkBytes,
    (l) => {
      out = Array.from({ length: l.channels }, () => new Float32Array(l.frames));
      return true;
    },
    (channels, frames, at) => {
      for (let c = 0; c < channels.length; c++) out[c]!.set(channels[c]!.subarray(0, frames), at);
    },
  );
  return layout ? { sampleRate: layout.sampleRate, channels: out } : null;
}

/** Whole-clip log-Mel of a file, with the samples it was made from and the time spent decoding. */
export interface FileSpectrogram {
  spectrogram: MelSpectrogram;
  /** Mono samples at config.sampleRate the spectrogram covers. */
  samples: number;
  msDecode: number;
}

/**
 * logMelSpectrogram(await loadAudio(path, { sampleRate: config.sampleRate })) for WAV and .au
 * files already at the configuration's sample rate, bit for bit, without ever holding the
 * samples: the file is decoded in pieces, mixed to mono as loadAudio does and fed to a MelStream,
 * and the topDb clamp is applied to the whole spectrogram at the end. Only the spectrogram is
 * held (0.2 MiB for 10 s at the defaults, where the samples take 0.8 MiB). Returns null for other
 * formats, other sample rates and anything unusual; use the whole-clip functions then.
 */
export async function logMelSpectrogramFile(
  path: string,
  config: Partial<MelConfig> = {},
  chunkBytes = PCM_READ_BYTES,
): Promise<FileSpectrogram | null> {
  const c = resolveMelConfig(config);
  let data = new Float32Array(0);
  let nFrames = 0;
  const mono = new MonoMixer();
  let msDecode = 0;
  let stream: MelStream | null = null;
  let t0 = performance.now();
  const layout = await readPcmPieces(
    path,
    chunkBytes,
    (l) => {
      // what loadAudio and logMelSpectrogram refuse is left to them, with their messages
      if (l.sampleRate !== c.sampleRate || l.frames === 0 || (!c.center && l.frames < c.nFft)) return false;
      nFrames = frameCount(l.frames, c);
      data = new Float32Array(c.nMels * nFrames);
      stream = MelStream.into(c, data, nFrames);
      return true;
    },
    (channels, frames) => {
      const x = mono.mix(channels, frames);
      const t1 = performance.now();
      msDecode += t1 - t0;
      stream!.push(x);
      t0 = performance.now();
    },
  );
  if (!layout || !stream) return null;
  (stream as MelStream).end();
  const topDb = clipTopDb(c);
  if (topDb !== null) clampTopDbInPlace(data, topDb);
  return { spectrogram: { data, nMels: c.nMels, nFrames }, samples: layout.frames, msDecode };
}

/** Lowest file sample rate loadAudio resamples from. */
export const MIN_RESAMPLE_RATE = 1000;

/** Channel mean. */
export function mixToMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]!;
  const n = channels[0]?.length ?? 0;
  return mixInto(channels, new Float32Array(n));
}

/** The channel mean of the first out.length samples of each channel, written into `out`. */
function mixInto(channels: Float32Array[], out: Float32Array): Float32Array {
  const n = out.length;
  if (channels.length === 2) {
    // the general loop's arithmetic (a float32 sum, then the scale) in one pass
    const [a, b] = channels as [Float32Array, Float32Array];
    for (let i = 0; i < n; i++) out[i] = Math.fround(a[i]! + b[i]!) * 0.5;
    return out;
  }
  out.fill(0);
  for (const ch of channels) for (let i = 0; i < n; i++) out[i] = out[i]! + ch[i]!;
  const k = 1 / channels.length;
  for (let i = 0; i < n; i++) out[i] = out[i]! * k;
  return out;
}

/** mixToMono of runs of samples into one array reused from run to run (no garbage per run). */
export class MonoMixer {
  private buf = new Float32Array(0);

  /** The mono mix of the first `frames` samples; valid until the next call. */
  mix(channels: Float32Array[], frames: number): Float32Array {
    if (channels.length === 1) return channels[0]!.subarray(0, frames);
    if (this.buf.length < frames) this.buf = new Float32Array(frames);
    return mixInto(channels, this.buf.subarray(0, frames));
  }
}

/** The format of a file from its first bytes (and its name, for MP3 without a frame-sync header). */
async function sniffFile(path: string): Promise<ReturnType<typeof sniffFormat>> {
  const { fh, size } = await openRegularFile(path);
  try {
    const head = new Uint8Array(Math.min(size, 16));
    return sniffFormat(head.subarray(0, await readAt(fh, head, 0)), path);
  } finally {
    await fh.close();
  }
}

/**
 * Refuses to resample from a rate below MIN_RESAMPLE_RATE: a damaged header can declare 1 Hz, and
 * resampling that to 22050 Hz would multiply the sample count by 22050 (gigabytes from a small
 * file). No real recording is below 1 kHz.
 */
function checkSourceRate(path: string, rate: number, target: number | null): void {
  if (target !== null && target !== rate && rate < MIN_RESAMPLE_RATE)
    throw new AudioDecodeError(
      "BAD_HEADER",
      `the header declares a sample rate of ${rate} Hz; rates below ${MIN_RESAMPLE_RATE} Hz are refused (the header is probably damaged)`,
      path,
    );
}

/** Channels of samples appended run by run into arrays grown as needed. */
class SampleSink {
  private data: Float32Array[];
  private length = 0;

  constructor(channels: number, capacity: number) {
    this.data = Array.from({ length: channels }, () => new Float32Array(capacity));
  }

  /** Appends one run, the same length in every channel. */
  push(run: Float32Array[]): void {
    const n = run[0]!.length;
    if (this.length + n > this.data[0]!.length)
      this.grow(Math.max(this.length + n, this.data[0]!.length * 1.5));
    for (let c = 0; c < this.data.length; c++) this.data[c]!.set(run[c]!, this.length);
    this.length += n;
  }

  /** The samples: views of the arrays when they are nearly full, exact copies otherwise. */
  channels(): Float32Array[] {
    const slack = this.data[0]!.length - this.length;
    return this.data.map((d) =>
      slack <= this.length / 16 ? d.subarray(0, this.length) : d.slice(0, this.length),
    );
  }

  private grow(capacity: number): void {
    this.data = this.data.map((d) => {
      const next = new Float32Array(Math.ceil(capacity));
      next.set(d.subarray(0, this.length));
      return next;
    });
  }
}

/**
 * The channels of a stream's pieces, as many as its first piece has: a later piece with fewer
 * repeats its first channel, one with more is cut to the count (as joining the whole file does).
 */
class StreamChannels {
  private count = 0;

  of(p: DecodedPiece): Float32Array[] {
    if (this.count === 0) this.count = p.channels.length;
    if (p.channels.length === this.count) return p.channels;
    return Array.from({ length: this.count }, (_, c) => p.channels[c] ?? p.channels[0]!);
  }
}

/** The resampler from the first piece's rate to `target` (null: none needed), the rate checked. */
function streamResamplerFor(
  path: string,
  from: number,
  target: number | null,
  opts?: ResampleOptions,
): StreamResampler | null {
  checkSourceRate(path, from, target);
  return target === null || target === from ? null : new StreamResampler(from, target, opts);
}

/**
 * Decoded pieces of one stream (file or pipe) to mono samples at `target` Hz (null: the stream's
 * own rate): the channel mean, then StreamResampler, which gives the whole-signal resampler's
 * output bit for bit. The first piece sets the rate and the channel count for the whole stream.
 * `out` receives views of reused buffers, valid during the call, so nothing is allocated per piece.
 */
export class MonoAtRate {
  private resampler: StreamResampler | null | undefined;
  private readonly channels = new StreamChannels();
  private readonly mixer = new MonoMixer();
  /** Mono samples at the target rate handed on so far. */
  samples = 0;

  constructor(
    private readonly path: string,
    private readonly target: number | null,
    private readonly out: (x: Float32Array) => void,
    private readonly opts?: ResampleOptions,
  ) {}

  piece(p: DecodedPiece): void {
    if (this.resampler === undefined)
      this.resampler = streamResamplerFor(this.path, p.sampleRate, this.target, this.opts);
    const channels = this.channels.of(p);
    const mono = this.mixer.mix(channels, channels[0]!.length);
    this.emit(this.resampler ? this.resampler.pushView(mono) : mono);
  }

  /** The resampler's last samples; call once after the last piece. */
  end(): void {
    if (this.resampler) this.emit(this.resampler.end());
  }

  private emit(y: Float32Array): void {
    if (y.length === 0) return;
    this.samples += y.length;
    this.out(y);
  }
}

/**
 * Decoded pieces of one stream to channels at the target rate, kept whole: mixed to mono
 * (MonoAtRate) when asked, otherwise each channel resampled by its own StreamResampler.
 */
class PiecesAtRate {
  private sink: SampleSink | null = null;
  private resamplers: StreamResampler[] | null = null;
  private readonly channels = new StreamChannels();
  private mono: MonoAtRate | null = null;
  private rate = 0;

  constructor(
    private readonly path: string,
    private readonly target: number | null,
    private readonly opts: LoadOptions,
    /** Samples per channel expected at the target rate (a good guess saves regrowing). */
    private readonly expected: number,
  ) {}

  piece(p: DecodedPiece): void {
    const sink = this.sink ?? this.start(p);
    if (this.mono) {
      this.mono.piece(p);
      return;
    }
    const run = this.channels.of(p);
    const rs = this.resamplers;
    sink.push(rs ? run.map((x, c) => rs[c]!.push(x)) : run);
  }

  end(): DecodedAudio {
    if (!this.sink)
      throw new AudioDecodeError("EMPTY", "the file holds no audio samples (zero-length data)", this.path);
    if (this.mono) this.mono.end();
    else if (this.resamplers) this.sink.push(this.resamplers.map((r) => r.end()));
    return { sampleRate: this.target ?? this.rate, channels: this.sink.channels() };
  }

  private start(p: DecodedPiece): SampleSink {
    this.rate = p.sampleRate;
    const sink = new SampleSink(this.opts.mono ? 1 : p.channels.length, this.expected);
    this.sink = sink;
    if (this.opts.mono) {
      this.mono = new MonoAtRate(this.path, this.target, (y) => sink.push([y]), this.opts.resampler);
    } else {
      const resamplers = p.channels.map(() =>
        streamResamplerFor(this.path, this.rate, this.target, this.opts.resampler),
      );
      if (resamplers[0]) this.resamplers = resamplers as StreamResampler[];
    }
    return sink;
  }
}

/**
 * loadAudioChannels for MP3 and FLAC, piece by piece as the file is read: the result equals
 * decoding the whole file first, while neither its bytes nor its audio at the file's rate are
 * ever held whole.
 */
async function loadCompressedFile(
  path: string,
  target: number | null,
  opts: LoadOptions,
): Promise<DecodedAudio> {
  const file = await openAudioFile(path);
  const outRate = target ?? file.sampleRate ?? 0;
  const expected = Math.ceil((file.estimatedSeconds ?? 0) * outRate * 1.01) + 4096;
  const pieces = new PiecesAtRate(path, target, opts, expected);
  await file.read((p) => pieces.piece(p));
  return pieces.end();
}

/**
 * Reads and decodes a file (WAV, .au, MP3, FLAC) and returns all channels, resampled to
 * opts.sampleRate (default 22050; null keeps the file rate), mixed to mono when opts.mono.
 * MP3 and FLAC are decoded, mixed and resampled as they are read (loadCompressedFile); WAV and
 * .au are converted as they are read, then mixed and resampled.
 */
export async function loadAudioChannels(path: string, opts: LoadOptions = {}): Promise<DecodedAudio> {
  const target = opts.sampleRate === undefined ? 22050 : opts.sampleRate;
  const kind = await sniffFile(path);
  if (kind === "mp3" || kind === "flac") return loadCompressedFile(path, target, opts);
  const decoded = (await decodePcmFile(path)) ?? (await decodeAudioAsync(await readBytes(path), path));
  if (decoded.channels.length === 0 || decoded.channels[0]!.length === 0)
    throw new AudioDecodeError("EMPTY", "the file holds no audio samples (zero-length data)", path);
  checkSourceRate(path, decoded.sampleRate, target);
  let channels = opts.mono ? [mixToMono(decoded.channels)] : decoded.channels;
  if (target !== null && target !== decoded.sampleRate)
    channels = channels.map((ch) => resample(ch, decoded.sampleRate, target, opts.resampler));
  return { sampleRate: target ?? decoded.sampleRate, channels };
}

/**
 * Loads an audio file as mono Float32 samples at 22050 Hz (librosa.load defaults): channel mean,
 * then band-limited resampling. Throws AudioDecodeError naming the file on any problem.
 */
export async function loadAudio(
  path: string,
  opts: { sampleRate?: number; mono?: boolean } = {},
): Promise<Float32Array> {
  const r = await loadAudioChannels(path, { sampleRate: opts.sampleRate ?? 22050, mono: opts.mono ?? true });
  return r.channels.length === 1 ? r.channels[0]! : mixToMono(r.channels);
}
