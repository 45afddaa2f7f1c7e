// `resample` suite: one mono song resampled 44.1 -> 22.05 kHz and 48 -> 22.05 kHz by our resampler,
// sox, speex (wasm) and libsamplerate (wasm), each with its stopband attenuation measured the same
// way: the worst alias left by tones above the new Nyquist frequency.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeAudio, encodeWav, resample } from "@edge-audio/dsp";
import { dspBenchEnvironment, loadAvgText } from "./environment.js";

const TO = 22050;
const CASES = [44100, 48000] as const;
/** Further common input rates, timed for our resampler and sox only. */
const OTHER_RATES = [96000, 16000, 8000] as const;
const ALL_RATES = [...CASES, ...OTHER_RATES];
const SONG_CLIPS = ["blues", "classical", "country", "disco", "jazz", "rock"];
const here = dirname(fileURLToPath(import.meta.url));
const MINI = resolve(here, "../../../../../shared/data/gtzan-mini");

/** One resampler: `make` prepares it for a rate pair (untimed) and returns the timed conversion. */
interface Contender {
  name: string;
  note: string;
  make(from: number): Promise<((x: Float32Array) => Float32Array) | null>;
}

export interface ResampleRow {
  name: string;
  note: string;
  from: number;
  /** Median and fastest of the timed runs, ms (sox: the whole process, file in and out). */
  medianMs: number | null;
  minMs: number | null;
  runs: number;
  /** Worst alias level over the tone sweep above the new Nyquist frequency, dB re the tone. */
  worstAliasDb: number | null;
  /** medianMs relative to ours (SIMD) in the same case. */
  relative: number | null;
  skipped?: string;
}

const hasSox = (): boolean => spawnSync("sox", ["--version"]).status === 0;

// ---------- the song ----------

interface Song {
  /** Mono samples per input rate. */
  at: Map<number, Float32Array>;
  /** The same as 16-bit WAV files (sox's input). */
  wav: Map<number, string>;
  source: string;
}

/** First clip of six genres end to end, converted by sox to each input rate; synthetic without sox or data. */
function makeSong(dir: string): Song {
  const at = new Map<number, Float32Array>();
  const wav = new Map<number, string>();
  const clips = SONG_CLIPS.map((g) => join(MINI, g, `${g}.00000.wav`));
  if (hasSox() && clips.every((c) => existsSync(c))) {
    for (const rate of ALL_RATES) {
      const out = join(dir, `song-${rate}.wav`);
      const r = spawnSync("sox", [...clips, "-b", "16", out, "rate", "-v", String(rate)]);
      if (r.status !== 0) throw new Error(`sox could not make the bench song: ${r.stderr}`);
      at.set(rate, decodeAudio(readFileSync(out), out).channels[0]!);
      wav.set(rate, out);
    }
    const seconds = at.get(44100)!.length / 44100;
    return {
      at,
      wav,
      source: `GTZAN ${SONG_CLIPS.map((g) => `${g}.00000`).join(", ")} (gtzan-mini) end to end, ${seconds.toFixed(1)} s, sox 'rate -v' to 44.1 / 48 / 96 / 16 / 8 kHz (16-bit)`,
    };
  }
  for (const rate of ALL_RATES) {
    const x = synthSong(rate, 100);
    at.set(rate, x);
    const out = join(dir, `song-${rate}.wav`);
    writeFileSync(out, encodeWav([x], rate));
    wav.set(rate, out);
  }
  return { at, wav, source: "synthetic 100 s of tones and noise (sox or the shared GTZAN data not found)" };
}

function synthSong(rate: number, seconds: number): Float32Array {
  const n = Math.round(rate * seconds);
  const x = new Float32Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const t = i / rate;
    x[i] =
      0.05 * (s / 2 ** 32 - 0.5) +
      0.3 * Math.sin(2 * Math.PI * 220 * t) * Math.sin(0.7 * t) +
      0.1 * Math.sin(2 * Math.PI * 3000 * t);
  }
  return x;
}

// ---------- contenders ----------

interface SpeexModule {
  _speex_resampler_init(ch: number, inRate: number, outRate: number, quality: number, err: number): number;
  _speex_resampler_process_float(
    st: number,
    ch: number,
    inp: number,
    inLen: number,
    out: number,
    outLen: number,
  ): number;
  _speex_resampler_destroy(st: number): void;
  _malloc(bytes: number): number;
  _free(p: number): void;
  HEAPF32: Float32Array;
  HEAPU32: Uint32Array;
}

/** speex_resampler_process_float over the whole signal, then enough zeros to flush its delay. */
function speexConvert(m: SpeexModule, from: number, quality: number): (x: Float32Array) => Float32Array {
  return (x) => {
    const err = m._malloc(4);
    const st = m._speex_resampler_init(1, from, TO, quality, err);
    const padded = new Float32Array(x.length + 1024);
    padded.set(x);
    const nOut = Math.ceil((padded.length * TO) / from) + 16;
    const inp = m._malloc(padded.length * 4);
    const out = m._malloc(nOut * 4);
    const lens = m._malloc(8);
    m.HEAPF32.set(padded, inp / 4);
    m.HEAPU32[lens / 4] = padded.length;
    m.HEAPU32[lens / 4 + 1] = nOut;
    m._speex_resampler_process_float(st, 0, inp, lens, out, lens + 4);
    const written = m.HEAPU32[lens / 4 + 1]!;
    const y = m.HEAPF32.slice(out / 4, out / 4 + written);
    for (const p of [inp, out, lens, err]) m._free(p);
    m._speex_resampler_destroy(st);
    return y;
  };
}

interface LibSamplerate {
  create(
    ch: number,
    from: number,
    to: number,
    o: { converterType: number },
  ): Promise<{ simple(x: Float32Array): Float32Array }>;
  ConverterType: { SRC_SINC_BEST_QUALITY: number; SRC_SINC_MEDIUM_QUALITY: number };
}

// module names in variables: these packages ship no type declarations
const SPEEX = "@echogarden/speex-resampler-wasm/simd";
const LSR = "@alexanderolsen/libsamplerate-js";

async function tryImport<T>(name: string): Promise<T | null> {
  try {
    return (await import(name)) as T;
  } catch {
    return null;
  }
}

function contenders(): Contender[] {
  const ours =
    (
      flavour: "simd" | "scalar",
      extra: { attenuationDb?: number; precision?: "f64"; method?: "polyphase" } = {},
    ) =>
    async (from: number) =>
    (x: Float32Array) =>
      resample(x, from, TO, { flavour, ...extra });
  const lsr = (kind: "SRC_SINC_MEDIUM_QUALITY" | "SRC_SINC_BEST_QUALITY") => async (from: number) => {
    const mod = await tryImport<Partial<LibSamplerate> & { default?: LibSamplerate }>(LSR);
    if (!mod) return null;
    const lib = (mod.create ? mod : mod.default) as LibSamplerate;
    const src = await lib.create(1, from, TO, { converterType: lib.ConverterType[kind] });
    return (x: Float32Array) => src.simple(x);
  };
  return [
    {
      name: "ours (wasm SIMD)",
      note: "resample(), default 110 dB design (FFT blocks for integer ratios, polyphase otherwise)",
      make: ours("simd"),
    },
    { name: "ours (wasm scalar)", note: "same filter, scalar kernel build", make: ours("scalar") },
    {
      name: "ours, polyphase method (SIMD)",
      note: 'resample(x, from, to, { method: "polyphase" }): direct dot products, the default for other ratios',
      make: ours("simd", { method: "polyphase" }),
    },
    {
      name: "ours, 160 dB design (SIMD)",
      note: "resample(x, from, to, { attenuationDb: 160 })",
      make: ours("simd", { attenuationDb: 160 }),
    },
    {
      name: "ours, 160 dB design, f64 (SIMD)",
      note: 'resample(x, from, to, { attenuationDb: 160, precision: "f64" })',
      make: ours("simd", { attenuationDb: 160, precision: "f64" }),
    },
    {
      name: "speex q10 (wasm SIMD)",
      note: "@echogarden/speex-resampler-wasm/simd, quality 10",
      make: async (from) => {
        const mod = await tryImport<{ default: () => Promise<SpeexModule> }>(SPEEX);
        return mod ? speexConvert(await mod.default(), from, 10) : null;
      },
    },
    {
      name: "libsamplerate medium (wasm)",
      note: "@alexanderolsen/libsamplerate-js SRC_SINC_MEDIUM_QUALITY, simple()",
      make: lsr("SRC_SINC_MEDIUM_QUALITY"),
    },
    {
      name: "libsamplerate best (wasm)",
      note: "@alexanderolsen/libsamplerate-js SRC_SINC_BEST_QUALITY, simple()",
      make: lsr("SRC_SINC_BEST_QUALITY"),
    },
  ];
}

// ---------- measurements ----------

function timeRuns(fn: () => void, runs: number): { medianMs: number; minMs: number } {
  fn(); // warm-up (JIT, wasm tier-up, filter bank)
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return { medianMs: t[Math.floor(t.length / 2)]!, minMs: t[0]! };
}

/** Tones from just above the new Nyquist frequency to just below the old one. */
function sweepFrequencies(from: number, count: number): number[] {
  const lo = (TO / 2) * 1.002;
  const hi = (from / 2) * 0.998;
  return Array.from({ length: count }, (_, k) => lo + ((hi - lo) * k) / (count - 1));
}

function tone(f: number, rate: number, seconds: number): Float32Array {
  return Float32Array.from(
    { length: Math.round(rate * seconds) },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / rate),
  );
}

/** RMS of the middle half of y relative to the RMS of a 0.5-amplitude tone, dB. */
function middleLevelDb(y: Float32Array): number {
  const a = Math.floor(y.length / 4);
  const b = Math.floor((3 * y.length) / 4);
  let s = 0;
  for (let i = a; i < b; i++) s += y[i]! * y[i]!;
  return 10 * Math.log10(Math.max(s / (b - a), 1e-30) / 0.125);
}

function worstAlias(convert: (x: Float32Array) => Float32Array, from: number, count: number): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (const f of sweepFrequencies(from, count))
    worst = Math.max(worst, middleLevelDb(convert(tone(f, from, 0.25))));
  return worst;
}

/** sox on raw float32 in and out (no 16-bit quantization floor), its default 'rate' quality. */
function soxFloat(dir: string, from: number): (x: Float32Array) => Float32Array {
  return (x) => {
    const inp = join(dir, "tone-in.f32");
    const out = join(dir, "tone-out.f32");
    writeFileSync(inp, x);
    const args = ["-t", "f32", "-r", String(from), "-c", "1", inp, "-t", "f32", out, "rate", String(TO)];
    const r = spawnSync("sox", args);
    if (r.status !== 0) throw new Error(`sox failed: ${r.stderr}`);
    const b = readFileSync(out);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
}

const fmt = (v: number | null, d: number): string => (v === null ? "-" : v.toFixed(d));

function markdownTable(rows: ResampleRow[]): string {
  const lines = [
    "| input | resampler | median ms | min ms | x ours | worst alias dB | note |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of rows)
    lines.push(
      `| ${r.from / 1000} kHz | ${r.name} | ${r.skipped ?? fmt(r.medianMs, 1)} | ${fmt(r.minMs, 1)} | ${fmt(r.relative, 2)} | ${fmt(r.worstAliasDb, 1)} | ${r.note} |`,
    );
  return lines.join("\n");
}

export async function runResampleBench(opts: { quick: boolean; out: string }): Promise<void> {
  const runs = opts.quick ? 2 : 5;
  const tones = opts.quick ? 12 : 40;
  const env = dspBenchEnvironment();
  console.log(`resample benchmark: Node ${env.node}, ${env.cores} x ${env.cpu}, load ${env.loadAvgAtStart}`);
  console.log(
    `mono, single thread, to ${TO} Hz; ${runs} timed runs after one warm-up, median; ${tones} alias tones.\n`,
  );
  const dir = mkdtempSync(join(tmpdir(), "bench-resample-"));
  try {
    const song = makeSong(dir);
    console.log(`song: ${song.source}\n`);
    const rows: ResampleRow[] = [];
    const sox = hasSox();
    for (const from of ALL_RATES) {
      const x = song.at.get(from)!;
      const caseRows: ResampleRow[] = [];
      const compared = (CASES as readonly number[]).includes(from);
      for (const c of compared ? contenders() : contenders().slice(0, 1)) {
        const convert = await c.make(from);
        if (!convert) {
          caseRows.push({
            name: c.name,
            note: c.note,
            from,
            medianMs: null,
            minMs: null,
            runs: 0,
            worstAliasDb: null,
            relative: null,
            skipped: "not installed",
          });
          continue;
        }
        const t = timeRuns(() => convert(x), runs);
        const worstAliasDb = from > TO ? worstAlias(convert, from, tones) : null;
        caseRows.push({ name: c.name, note: c.note, from, ...t, runs, worstAliasDb, relative: null });
        process.stderr.write(
          `  ${from} Hz ${c.name}: ${t.medianMs.toFixed(1)} ms, alias ${fmt(worstAliasDb, 1)} dB\n`,
        );
      }
      if (sox) {
        const wav = song.wav.get(from)!;
        const out = join(dir, "sox-out.wav");
        const t = timeRuns(() => {
          const r = spawnSync("sox", [wav, "-r", String(TO), out]);
          if (r.status !== 0) throw new Error(`sox failed: ${r.stderr}`);
        }, runs);
        const worstAliasDb = from > TO ? worstAlias(soxFloat(dir, from), from, tones) : null;
        caseRows.push({
          name: "sox (libsoxr)",
          note: `\`sox in.wav -r ${TO} out.wav\`, whole process, 16-bit WAV in and out; alias on f32 files`,
          from,
          ...t,
          runs,
          worstAliasDb,
          relative: null,
        });
        process.stderr.write(
          `  ${from} Hz sox: ${t.medianMs.toFixed(1)} ms, alias ${fmt(worstAliasDb, 1)} dB\n`,
        );
      } else
        caseRows.push({
          name: "sox",
          note: "Debian package sox",
          from,
          medianMs: null,
          minMs: null,
          runs: 0,
          worstAliasDb: null,
          relative: null,
          skipped: "not installed",
        });
      const base = caseRows[0]!.medianMs!;
      for (const r of caseRows) r.relative = r.medianMs === null ? null : r.medianMs / base;
      rows.push(...caseRows);
    }
    const table = `${markdownTable(rows)}\n\nworst alias "-": upsampling, no input frequencies above the new Nyquist frequency.`;
    console.log(`\n${table}`);
    const goals = CASES.map((from) =>
      goalsFor(
        rows.filter((r) => r.from === from),
        from,
      ),
    );
    console.log("\ngoals:");
    for (const g of goals) for (const line of g.lines) console.log(`  ${line}`);
    const loadAvgAtEnd = loadAvgText();
    console.log(`\nload average: ${env.loadAvgAtStart} at start, ${loadAvgAtEnd} at end`);
    const result = { env, loadAvgAtEnd, song: song.source, rows, goals: goals.map((g) => g.json) };
    mkdirSync(dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(opts.out.replace(/\.json$/, ".md"), `${table}\n`);
    console.log(`wrote ${opts.out}`);
  } finally {
    for (const f of readdirSync(dir)) rmSync(join(dir, f));
    rmSync(dir, { recursive: true });
  }
}

function goalsFor(rows: ResampleRow[], from: number) {
  const ours = rows[0]!;
  const sox = rows.find((r) => r.name.startsWith("sox") && r.medianMs !== null);
  const wasm = rows.filter((r) => /speex|libsamplerate/.test(r.name) && r.medianMs !== null);
  const lines: string[] = [];
  const json: Record<string, unknown> = { from };
  if (sox) {
    const ratio = ours.medianMs! / sox.medianMs!;
    json.vsSox = { ratio, met: ratio <= 2 };
    lines.push(
      `${from} Hz: ours / sox time ${ratio.toFixed(2)} (goal <= 2): ${ratio <= 2 ? "met" : "NOT met"}`,
    );
  } else lines.push(`${from} Hz: sox not installed, no sox comparison`);
  for (const w of wasm) {
    // our fastest row whose attenuation is at least theirs
    const match = rows
      .filter(
        (r) => r.name.startsWith("ours") && r.worstAliasDb !== null && r.worstAliasDb <= w.worstAliasDb!,
      )
      .sort((a, b) => a.medianMs! - b.medianMs!)[0];
    const met = !!match && match.medianMs! < w.medianMs!;
    json[w.name] = { ours: match?.name ?? null, speedup: match ? w.medianMs! / match.medianMs! : null, met };
    lines.push(
      `${from} Hz: vs ${w.name} (${w.worstAliasDb!.toFixed(1)} dB): ${match ? `${match.name} (${match.worstAliasDb!.toFixed(1)} dB) ${(w.medianMs! / match.medianMs!).toFixed(2)}x faster` : "no row of ours reaches its attenuation"}: ${met ? "met" : "NOT met"}`,
    );
  }
  return { lines, json };
}
