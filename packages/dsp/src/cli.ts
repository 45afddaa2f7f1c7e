#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  decimalNumber,
  EXIT_FAILURE,
  EXIT_USAGE,
  exitQuietlyOnClosedPipe,
  packageVersion,
  parseFlags,
  UsageError,
  wholeNumber,
} from "./cli-args.js";
import { type MelConfig, resolveMelConfig } from "./config.js";
import { decodeAudioAsync } from "./decode.js";
import { AudioDecodeError, DspError } from "./errors.js";
import { mixToMono } from "./load.js";
import { logMelSpectrogram } from "./logmel.js";
import { renderMelPng } from "./plot.js";
import { resample } from "./resample.js";
import { synthDemoClip } from "./synth.js";
import { encodeWav } from "./wav.js";

const VERSION = packageVersion();

const MAIN_HELP = `usage: edge-audio-dsp <command> [options]

Log-Mel front-end of edge-audio (librosa-compatible defaults).

commands:
  mel FILE --png OUT.png [--json]   log-Mel spectrogram of an audio file as an image
  demo [--out DIR] [--json]         synthesise a built-in clip and run mel on it
  help [COMMAND]                    show help

Run 'edge-audio-dsp COMMAND --help' for the options of a command; --version prints the version.
exit codes: 0 ok, 1 runtime failure, 2 bad command line or input file.`;

const MEL_HELP = `usage: edge-audio-dsp mel FILE --png OUT.png [options]

Decodes FILE (WAV, Sun/NeXT .au, MP3, FLAC), mixes to mono, resamples to the analysis rate and
writes its log-Mel spectrogram as a PNG (colour map, Hz axis on the Mel scale, time in seconds).
Prints duration, sample rate, frame count and dB range.

options:
  --png OUT.png     image to write (required; folders are created)
  --json            print the summary as JSON instead of text
  --quiet           print nothing on success
  --sample-rate HZ  analysis sample rate (default 22050)
  --n-fft N         FFT size (default 2048)
  --hop N           hop length in samples (default 512)
  --n-mels N        number of Mel bands (default 128)
  --htk             HTK Mel scale instead of Slaney
  --top-db DB       dynamic range below the maximum, or 'none' (default 80)
  --version         the package version
  -h, --help        this help

exit codes: 0 ok, 1 runtime failure, 2 bad command line or a file that cannot be read or decoded.`;

const DEMO_HELP = `usage: edge-audio-dsp demo [--out DIR] [--json]

Synthesises a deterministic 10 s music-like clip (a 120 bpm drum pattern, a bass line and a
C-Am-F-G chord progression; synthetic, not a recording), writes DIR/demo.wav and
DIR/demo-mel.png and prints the same summary as 'mel'. Needs no input data.

options:
  --out DIR     output folder (default out/demo)
  --json        print the summary as JSON
  --quiet       print nothing on success
  --version     the package version
  -h, --help    this help`;

type Flags = ReturnType<typeof parseFlags>;

function intFlag(p: Flags, name: string): number | undefined {
  const v = p.values[name];
  return typeof v === "string" ? wholeNumber(`--${name}`, v, 1) : undefined;
}

interface Summary {
  file: string;
  durationSec: number;
  samples: number;
  sampleRate: number;
  fileSampleRate: number;
  channels: number;
  nFrames: number;
  nMels: number;
  dbMin: number;
  dbMax: number;
  png: string;
  config: MelConfig;
}

function analyse(
  file: string,
  channels: Float32Array[],
  fileRate: number,
  config: MelConfig,
  pngPath: string,
  title: string,
): Summary {
  let x = mixToMono(channels);
  if (fileRate !== config.sampleRate) x = resample(x, fileRate, config.sampleRate);
  if (x.length === 0)
    throw new AudioDecodeError("EMPTY", "the file holds no audio samples (zero-length data)", file);
  const mel = logMelSpectrogram(x, config);
  let dbMin = Number.POSITIVE_INFINITY;
  let dbMax = Number.NEGATIVE_INFINITY;
  for (const v of mel.data) {
    if (v < dbMin) dbMin = v;
    if (v > dbMax) dbMax = v;
  }
  mkdirSync(dirname(resolve(pngPath)), { recursive: true });
  writeFileSync(pngPath, renderMelPng(mel, config, title));
  return {
    file,
    durationSec: x.length / config.sampleRate,
    samples: x.length,
    sampleRate: config.sampleRate,
    fileSampleRate: fileRate,
    channels: channels.length,
    nFrames: mel.nFrames,
    nMels: mel.nMels,
    dbMin,
    dbMax,
    png: pngPath,
    config,
  };
}

function printSummary(s: Summary, json: boolean, quiet: boolean): void {
  if (quiet) return;
  if (json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  const c = s.config;
  console.log(`file         ${s.file}`);
  console.log(
    `duration     ${s.durationSec.toFixed(2)} s (${s.samples} samples at ${s.sampleRate} Hz; file: ${s.fileSampleRate} Hz, ${s.channels} channel${s.channels === 1 ? "" : "s"})`,
  );
  console.log(
    `frames       ${s.nFrames} frames x ${s.nMels} Mel bands (nFft ${c.nFft}, hop ${c.hopLength}, ${c.melScale} Mel)`,
  );
  console.log(
    `dB range     ${s.dbMin.toFixed(1)} .. ${s.dbMax.toFixed(1)} dB (ref ${c.ref}, top_db ${c.topDb ?? "none"})`,
  );
  console.log(`png          ${s.png}`);
}

async function melCommand(args: string[]): Promise<void> {
  const p = parseFlags(args, {
    png: "string",
    "sample-rate": "string",
    "n-fft": "string",
    hop: "string",
    "n-mels": "string",
    "top-db": "string",
    htk: "boolean",
  });
  if (p.values.help) return void console.log(MEL_HELP);
  if (p.values.version) return void console.log(`edge-audio-dsp ${VERSION}`);
  if (p.positionals.length !== 1)
    throw new UsageError(
      p.positionals.length === 0 ? "mel needs an input FILE" : "mel takes exactly one FILE",
    );
  const png = p.values.png;
  if (typeof png !== "string") throw new UsageError("mel needs --png OUT.png");
  const topRaw = p.values["top-db"];
  let topDb: number | null | undefined;
  if (typeof topRaw === "string") topDb = topRaw === "none" ? null : decimalNumber("--top-db", topRaw, 0);
  const overrides: Partial<MelConfig> = {
    sampleRate: intFlag(p, "sample-rate"),
    nFft: intFlag(p, "n-fft"),
    hopLength: intFlag(p, "hop"),
    nMels: intFlag(p, "n-mels"),
    melScale: p.values.htk ? "htk" : undefined,
    topDb,
  };
  let config: MelConfig;
  try {
    config = resolveMelConfig(overrides);
  } catch (e) {
    if (e instanceof DspError) throw new UsageError(e.message);
    throw e;
  }
  const file = p.positionals[0]!;
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AudioDecodeError(
      "READ_FAILED",
      code === "ENOENT"
        ? "no such file; check the path"
        : code === "EISDIR"
          ? "is a directory"
          : `cannot be read (${code})`,
      file,
    );
  }
  const decoded = await decodeAudioAsync(bytes, file);
  const title = file.split(/[\\/]/).pop() ?? file;
  const summary = analyse(file, decoded.channels, decoded.sampleRate, config, png, title);
  printSummary(summary, Boolean(p.values.json), Boolean(p.values.quiet));
}

function demoCommand(args: string[]): void {
  const p = parseFlags(args, { out: "string" });
  if (p.values.help) return void console.log(DEMO_HELP);
  if (p.values.version) return void console.log(`edge-audio-dsp ${VERSION}`);
  if (p.positionals.length > 0) throw new UsageError(`demo takes no arguments, got '${p.positionals[0]}'`);
  const out = (p.values.out as string | undefined) ?? "out/demo";
  mkdirSync(out, { recursive: true });
  const config = resolveMelConfig();
  const clip = synthDemoClip(10, config.sampleRate);
  const wav = join(out, "demo.wav");
  writeFileSync(wav, encodeWav([clip], config.sampleRate));
  const summary = analyse(
    wav,
    [clip],
    config.sampleRate,
    config,
    join(out, "demo-mel.png"),
    "demo.wav (synthetic: drums, bass, C-Am-F-G chords)",
  );
  if (!p.values.json && !p.values.quiet)
    console.log("synthetic demo clip: 120 bpm drums, bass and a C-Am-F-G chord progression");
  printSummary(summary, Boolean(p.values.json), Boolean(p.values.quiet));
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined) {
      console.error(MAIN_HELP);
      return EXIT_USAGE;
    }
    if (cmd === "-h" || cmd === "--help") {
      console.log(MAIN_HELP);
      return 0;
    }
    if (cmd === "--version") {
      console.log(`edge-audio-dsp ${VERSION}`);
      return 0;
    }
    if (cmd === "help") {
      console.log(rest[0] === "mel" ? MEL_HELP : rest[0] === "demo" ? DEMO_HELP : MAIN_HELP);
      return 0;
    }
    if (cmd === "mel") await melCommand(rest);
    else if (cmd === "demo") demoCommand(rest);
    else throw new UsageError(`unknown command '${cmd}'`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      const sub = cmd === "mel" || cmd === "demo" ? `${cmd} ` : "";
      console.error(`edge-audio-dsp: ${e.message} (see edge-audio-dsp ${sub}--help)`);
      return EXIT_USAGE;
    }
    if (e instanceof AudioDecodeError || e instanceof DspError) {
      console.error(`edge-audio-dsp: ${e.message}`);
      return EXIT_USAGE;
    }
    console.error(`edge-audio-dsp: ${e instanceof Error ? e.message : String(e)}`);
    if (process.env.EDGE_AUDIO_DEBUG && e instanceof Error) console.error(e.stack);
    return EXIT_FAILURE;
  }
}

exitQuietlyOnClosedPipe();
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
