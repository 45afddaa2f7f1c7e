/**
 * The built-in demo corpus: short SYNTHETIC music clips in ten classes that differ the way
 * genres do (tempo, rhythm pattern, timbre, harmony), generated deterministically from a seed
 * and written in GTZAN's layout (`<label>/<label>.000NN.wav`). Every sample is computed here,
 * so the corpus carries no third-party rights. It is not GTZAN and says so in its labels
 * (`synthetic-<style>`) and in the PROVENANCE.txt file written next to it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeWav } from "@edge-audio/dsp";
import { hashString, Rng } from "./rng.js";

export interface DemoCorpusOptions {
  /** Output folder; created if needed. */
  out: string;
  /** Clips per class (default 12). */
  clipsPerClass?: number;
  /** Clip length in seconds (default 4). */
  seconds?: number;
  sampleRate?: number;
  seed?: number;
}

export interface DemoCorpusResult {
  out: string;
  labels: string[];
  files: string[];
  clipsPerClass: number;
  seconds: number;
  sampleRate: number;
  seed: number;
}

type Timbre = "sine" | "triangle" | "square" | "saw" | "pluck" | "pad" | "distorted" | "organ";
type Drum = "kick" | "snare" | "hat" | "openhat" | "ride" | "rim";

interface Style {
  name: string;
  bpm: [number, number];
  /** Swing: delay of every second 16th, as a fraction of a 16th. */
  swing: number;
  /** 16-step patterns per drum voice (x = hit, o = soft hit). */
  drums: Partial<Record<Drum, string>>;
  /** Scale degrees (semitones) for melodies. */
  scale: number[];
  /** Chord roots (semitones) per bar, and chord intervals. */
  progression: number[];
  chord: number[];
  chordTimbre: Timbre;
  /** Steps on which the chord sounds (16 per bar). */
  chordRhythm: string;
  bassTimbre: Timbre;
  /** Bass pattern: digits = chord tone index (0 root, 1 third/fifth...), "." rest. */
  bass: string;
  leadTimbre: Timbre | null;
  /** Melody density (probability of a note per 8th). */
  leadDensity: number;
  /** Register of the key (MIDI note of the root). */
  root: [number, number];
  noise: number;
  brightness: number;
}

const MAJOR = [0, 2, 4, 5, 7, 9, 11];
const MINOR = [0, 2, 3, 5, 7, 8, 10];
const BLUES = [0, 3, 5, 6, 7, 10];
const PENTA = [0, 2, 4, 7, 9];
const DORIAN = [0, 2, 3, 5, 7, 9, 10];

/** The ten synthetic styles, loosely modelled on GTZAN's genres. */
const STYLES: Style[] = [
  {
    name: "blues",
    bpm: [70, 90],
    swing: 0.5,
    drums: { kick: "x.....x.x.......", snare: "....x.......x...", hat: "x.x.x.x.x.x.x.x." },
    scale: BLUES,
    progression: [0, 5, 0, 0, 5, 5, 0, 0, 7, 5, 0, 7],
    chord: [0, 4, 7, 10],
    chordTimbre: "saw",
    chordRhythm: "x.....x.x.....x.",
    bassTimbre: "triangle",
    bass: "0.1.2.3.0.1.2.3.",
    leadTimbre: "distorted",
    leadDensity: 0.35,
    root: [40, 47],
    noise: 0.01,
    brightness: 0.5,
  },
  {
    name: "classical",
    bpm: [60, 84],
    swing: 0,
    drums: {},
    scale: MAJOR,
    progression: [0, 5, 7, 0, 9, 5, 7, 0],
    chord: [0, 4, 7, 12],
    chordTimbre: "pad",
    chordRhythm: "x...............",
    bassTimbre: "pad",
    bass: "0...............",
    leadTimbre: "sine",
    leadDensity: 0.8,
    root: [52, 60],
    noise: 0,
    brightness: 0.3,
  },
  {
    name: "country",
    bpm: [100, 125],
    swing: 0.15,
    drums: {
      kick: "x.......x.......",
      snare: "....x.......x...",
      hat: "x.x.x.x.x.x.x.x.",
      rim: "..x...x...x...x.",
    },
    scale: PENTA,
    progression: [0, 0, 5, 5, 7, 7, 0, 0],
    chord: [0, 4, 7],
    chordTimbre: "pluck",
    chordRhythm: "..x...x...x...x.",
    bassTimbre: "pluck",
    bass: "0...2...0...2...",
    leadTimbre: "pluck",
    leadDensity: 0.5,
    root: [43, 50],
    noise: 0.005,
    brightness: 0.6,
  },
  {
    name: "disco",
    bpm: [115, 130],
    swing: 0,
    drums: {
      kick: "x...x...x...x...",
      snare: "....x.......x...",
      openhat: "..x...x...x...x.",
      hat: "xxxxxxxxxxxxxxxx",
    },
    scale: DORIAN,
    progression: [0, 0, 3, 5],
    chord: [0, 3, 7, 10],
    chordTimbre: "square",
    chordRhythm: ".x.x.x.x.x.x.x.x",
    bassTimbre: "square",
    bass: "0.3.0.3.0.3.0.3.",
    leadTimbre: "saw",
    leadDensity: 0.3,
    root: [38, 45],
    noise: 0.005,
    brightness: 0.8,
  },
  {
    name: "hiphop",
    bpm: [80, 96],
    swing: 0.35,
    drums: { kick: "x......x..x.....", snare: "....x.......x...", hat: "x.x.x.x.x.x.x.xx" },
    scale: MINOR,
    progression: [0, 0, 8, 7],
    chord: [0, 3, 7],
    chordTimbre: "organ",
    chordRhythm: "x.......x.......",
    bassTimbre: "sine",
    bass: "0......0..0.....",
    leadTimbre: null,
    leadDensity: 0,
    root: [33, 40],
    noise: 0.02,
    brightness: 0.2,
  },
  {
    name: "jazz",
    bpm: [130, 180],
    swing: 0.6,
    drums: { ride: "x..xx..xx..xx..x", hat: "....x.......x...", kick: "x..........o...." },
    scale: DORIAN,
    progression: [2, 7, 0, 9],
    chord: [0, 4, 10, 14],
    chordTimbre: "organ",
    chordRhythm: "...x.....x..x...",
    bassTimbre: "pluck",
    bass: "0...1...2...3...",
    leadTimbre: "triangle",
    leadDensity: 0.6,
    root: [45, 52],
    noise: 0.003,
    brightness: 0.4,
  },
  {
    name: "metal",
    bpm: [150, 190],
    swing: 0,
    drums: { kick: "xxxxxxxxxxxxxxxx", snare: "....x.......x...", ride: "x.x.x.x.x.x.x.x." },
    scale: [0, 1, 3, 5, 7, 8, 10],
    progression: [0, 0, 1, 5],
    chord: [0, 7, 12],
    chordTimbre: "distorted",
    chordRhythm: "xxxxxxxxxxxxxxxx",
    bassTimbre: "distorted",
    bass: "0000000000000000",
    leadTimbre: "distorted",
    leadDensity: 0.2,
    root: [28, 35],
    noise: 0.04,
    brightness: 1,
  },
  {
    name: "pop",
    bpm: [100, 122],
    swing: 0,
    drums: { kick: "x.......x.x.....", snare: "....x.......x...", hat: "x.x.x.x.x.x.x.x." },
    scale: MAJOR,
    progression: [0, 7, 9, 5],
    chord: [0, 4, 7],
    chordTimbre: "pad",
    chordRhythm: "x.......x.......",
    bassTimbre: "square",
    bass: "0.0.0.0.0.0.0.0.",
    leadTimbre: "square",
    leadDensity: 0.7,
    root: [48, 55],
    noise: 0.003,
    brightness: 0.7,
  },
  {
    name: "reggae",
    bpm: [68, 86],
    swing: 0.2,
    drums: { kick: "........x.......", rim: "........x.......", hat: "x.x.x.x.x.x.x.x." },
    scale: MAJOR,
    progression: [0, 5, 0, 7],
    chord: [0, 4, 7],
    chordTimbre: "organ",
    chordRhythm: "....x.......x...",
    bassTimbre: "sine",
    bass: "0..0..2.1...0...",
    leadTimbre: null,
    leadDensity: 0,
    root: [36, 43],
    noise: 0.005,
    brightness: 0.35,
  },
  {
    name: "rock",
    bpm: [110, 140],
    swing: 0,
    drums: { kick: "x.....x.x.......", snare: "....x.......x...", hat: "x.x.x.x.x.x.x.x." },
    scale: PENTA,
    progression: [0, 7, 5, 0],
    chord: [0, 7, 12],
    chordTimbre: "distorted",
    chordRhythm: "x.x.x.x.x.x.x.x.",
    bassTimbre: "saw",
    bass: "0.0.0.0.0.0.0.0.",
    leadTimbre: "saw",
    leadDensity: 0.4,
    root: [38, 45],
    noise: 0.015,
    brightness: 0.75,
  },
];

/** Labels of the demo corpus, in folder (and therefore class index) order. */
export const DEMO_LABELS: readonly string[] = STYLES.map((s) => `synthetic-${s.name}`).sort();

const midiHz = (m: number) => 440 * 2 ** ((m - 69) / 12);

/** Adds one tonal note into `buf`. */
function addNote(
  buf: Float32Array,
  sr: number,
  start: number,
  dur: number,
  hz: number,
  amp: number,
  timbre: Timbre,
  brightness: number,
  rng: Rng,
): void {
  const i0 = Math.max(0, Math.floor(start * sr));
  const release = timbre === "pad" ? 0.3 : 0.05;
  const i1 = Math.min(buf.length, Math.floor((start + dur + release) * sr));
  const nyq = sr / 2;
  const maxH = Math.max(1, Math.min(Math.floor(nyq / hz) - 1, 4 + Math.round(brightness * 14)));
  const phase0 = rng.next() * 2 * Math.PI;
  const vib = timbre === "pad" || timbre === "sine" ? 0.004 : 0;
  for (let i = i0; i < i1; i++) {
    const t = (i - i0) / sr;
    // envelope
    let env: number;
    if (timbre === "pluck") env = Math.exp(-t * 6);
    else if (timbre === "pad") env = Math.min(1, t / 0.15) * (t > dur ? Math.exp(-(t - dur) * 12) : 1);
    else env = Math.min(1, t / 0.008) * (t > dur ? Math.exp(-(t - dur) * 40) : Math.exp(-t * 1.2));
    if (env < 1e-4) continue;
    const ph = 2 * Math.PI * hz * t * (1 + vib * Math.sin(2 * Math.PI * 5.5 * t)) + phase0;
    let v = 0;
    switch (timbre) {
      case "sine":
        v = Math.sin(ph) + 0.1 * Math.sin(2 * ph);
        break;
      case "triangle":
        for (let h = 1; h <= maxH; h += 2) v += ((h & 2 ? -1 : 1) * Math.sin(h * ph)) / (h * h);
        break;
      case "square":
        for (let h = 1; h <= maxH; h += 2) v += Math.sin(h * ph) / h;
        v *= 0.8;
        break;
      case "saw":
      case "distorted":
        for (let h = 1; h <= maxH; h++) v += Math.sin(h * ph) / h;
        v *= 0.6;
        if (timbre === "distorted") v = Math.tanh(4 * v) * 0.7;
        break;
      case "pluck":
        for (let h = 1; h <= maxH; h++) v += (Math.sin(h * ph) * Math.exp(-t * h * 1.5)) / h;
        break;
      case "pad":
        v = Math.sin(ph) + 0.5 * Math.sin(ph * 1.003 + 1) + 0.3 * Math.sin(2 * ph) + 0.15 * Math.sin(3 * ph);
        v *= 0.6;
        break;
      case "organ":
        v = Math.sin(ph) + 0.6 * Math.sin(2 * ph) + 0.4 * Math.sin(3 * ph) + 0.2 * Math.sin(4 * ph);
        v *= 0.5;
        break;
    }
    buf[i] = buf[i]! + amp * env * v;
  }
}

function addDrum(buf: Float32Array, sr: number, start: number, drum: Drum, amp: number, rng: Rng): void {
  const i0 = Math.max(0, Math.floor(start * sr));
  const len = { kick: 0.35, snare: 0.2, hat: 0.05, openhat: 0.25, ride: 0.5, rim: 0.06 }[drum];
  const i1 = Math.min(buf.length, i0 + Math.floor(len * sr));
  let prev = 0;
  let phase = 0;
  for (let i = i0; i < i1; i++) {
    const t = (i - i0) / sr;
    const n = rng.next() * 2 - 1;
    let v = 0;
    switch (drum) {
      case "kick": {
        const f = 45 + 90 * Math.exp(-t * 30);
        phase += (2 * Math.PI * f) / sr;
        v = Math.sin(phase) * Math.exp(-t * 9);
        break;
      }
      case "snare":
        phase += (2 * Math.PI * 185) / sr;
        v = (0.5 * Math.sin(phase) * Math.exp(-t * 25) + 0.7 * n * Math.exp(-t * 18)) * 0.9;
        break;
      case "hat":
      case "openhat": {
        const hp = n - prev; // crude high-pass
        prev = n;
        v = 0.35 * hp * Math.exp(-t * (drum === "hat" ? 70 : 12));
        break;
      }
      case "ride": {
        const hp = n - prev;
        prev = n;
        v = 0.15 * hp * Math.exp(-t * 6) + 0.08 * Math.sin(2 * Math.PI * 3150 * t) * Math.exp(-t * 5);
        break;
      }
      case "rim":
        phase += (2 * Math.PI * 1700) / sr;
        v = 0.5 * Math.sin(phase) * Math.exp(-t * 60) + 0.2 * n * Math.exp(-t * 80);
        break;
    }
    buf[i] = buf[i]! + amp * v;
  }
}

/** Synthesises one clip of a style; deterministic in (style, index, seed). */
export function synthesizeClip(
  styleName: string,
  index: number,
  opts: { seconds?: number; sampleRate?: number; seed?: number } = {},
): Float32Array {
  const style = STYLES.find((s) => s.name === styleName || `synthetic-${s.name}` === styleName);
  if (!style) throw new Error(`unknown demo style "${styleName}"`);
  const sr = opts.sampleRate ?? 22050;
  const seconds = opts.seconds ?? 4;
  const rng = new Rng(hashString(`${style.name}:${index}`, (opts.seed ?? 1) >>> 0));
  const buf = new Float32Array(Math.round(seconds * sr));
  const bpm = rng.uniform(style.bpm[0], style.bpm[1]);
  const step = 60 / bpm / 4; // a 16th note
  const root = rng.int(style.root[0], style.root[1]);
  const offset = -rng.uniform(0, 16 * step); // start somewhere inside a bar
  const barStart = rng.int(0, style.progression.length - 1);
  const timeOf = (s: number) => offset + s * step + (s % 2 === 1 ? style.swing * step * 0.5 : 0);
  const totalSteps = Math.ceil((seconds - offset) / step) + 1;
  const drumGain = rng.uniform(0.5, 0.8);
  const chordGain = rng.uniform(0.08, 0.14);
  let melodyDegree = rng.int(0, style.scale.length - 1);
  for (let s = 0; s < totalSteps; s++) {
    const t = timeOf(s);
    const pos = s % 16;
    const bar = Math.floor(s / 16);
    const chordRoot = root + style.progression[(barStart + bar) % style.progression.length]!;
    if (t > seconds) break;
    for (const [drum, pattern] of Object.entries(style.drums) as Array<[Drum, string]>) {
      const c = pattern[pos];
      if (c === "x" || c === "o") {
        const jitter = rng.uniform(-0.004, 0.004);
        addDrum(buf, sr, t + jitter, drum, drumGain * (c === "o" ? 0.4 : 1) * rng.uniform(0.8, 1.0), rng);
      }
    }
    if (style.chordRhythm[pos] === "x") {
      const len =
        style.chordTimbre === "pad"
          ? 16 * step
          : Math.max(step, style.chordRhythm === "x".repeat(16) ? step : 2 * step);
      for (const iv of style.chord) {
        addNote(
          buf,
          sr,
          t,
          len * 0.9,
          midiHz(chordRoot + 12 + iv),
          chordGain,
          style.chordTimbre,
          style.brightness,
          rng,
        );
      }
    }
    const b = style.bass[pos];
    if (b && b !== ".") {
      const idx = Number(b);
      const iv = idx === 0 ? 0 : (style.chord[idx % style.chord.length] ?? 7) % 12;
      const len = style.bassTimbre === "pad" ? 16 * step : 2 * step;
      addNote(
        buf,
        sr,
        t,
        len * 0.85,
        midiHz(chordRoot - 12 + iv),
        0.22,
        style.bassTimbre,
        style.brightness * 0.5,
        rng,
      );
    }
    if (style.leadTimbre && pos % 2 === 0 && rng.next() < style.leadDensity) {
      melodyDegree = Math.max(0, Math.min(style.scale.length * 2 - 1, melodyDegree + rng.int(-2, 2)));
      const octave = Math.floor(melodyDegree / style.scale.length);
      const note = root + 24 + 12 * octave + style.scale[melodyDegree % style.scale.length]!;
      addNote(
        buf,
        sr,
        t,
        step * rng.pick([1.8, 2, 3.8]),
        midiHz(note),
        0.12,
        style.leadTimbre,
        style.brightness,
        rng,
      );
    }
  }
  // Background noise and normalisation to a random loudness.
  let peak = 0;
  for (let i = 0; i < buf.length; i++) {
    buf[i] = buf[i]! + style.noise * (rng.next() * 2 - 1);
    peak = Math.max(peak, Math.abs(buf[i]!));
  }
  const gain = rng.uniform(0.4, 0.9) / Math.max(peak, 1e-6);
  for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! * gain;
  return buf;
}

/**
 * Writes the demo corpus: `<out>/synthetic-<style>/synthetic-<style>.000NN.wav` and a
 * PROVENANCE.txt saying what it is. Deterministic for a given seed and size.
 */
export function generateDemoCorpus(options: DemoCorpusOptions): DemoCorpusResult {
  const clipsPerClass = options.clipsPerClass ?? 12;
  const seconds = options.seconds ?? 4;
  const sampleRate = options.sampleRate ?? 22050;
  const seed = options.seed ?? 1;
  if (!(clipsPerClass >= 1 && Number.isInteger(clipsPerClass))) {
    throw new Error(`demo corpus: clipsPerClass must be a positive integer, got ${clipsPerClass}`);
  }
  if (!(seconds > 0.5)) throw new Error(`demo corpus: seconds must be above 0.5, got ${seconds}`);
  mkdirSync(options.out, { recursive: true });
  const files: string[] = [];
  for (const label of DEMO_LABELS) {
    const dir = join(options.out, label);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < clipsPerClass; i++) {
      const file = join(dir, `${label}.${String(i).padStart(5, "0")}.wav`);
      writeFileSync(file, encodeWav([synthesizeClip(label, i, { seconds, sampleRate, seed })], sampleRate));
      files.push(file);
    }
  }
  writeFileSync(
    join(options.out, "PROVENANCE.txt"),
    [
      "SYNTHETIC demo corpus generated by @edge-audio/trainer (edge-audio demo-data).",
      "It is not GTZAN and contains no recorded music: every sample is computed from simple",
      "oscillators, noise and drum models whose tempo, rhythm pattern, timbre and harmony differ",
      "per class the way music genres do. Free of third-party rights.",
      `classes: ${DEMO_LABELS.length}, clips per class: ${clipsPerClass}, clip length: ${seconds} s, ` +
        `sample rate: ${sampleRate} Hz, seed: ${seed}`,
      "",
    ].join("\n"),
  );
  return { out: options.out, labels: [...DEMO_LABELS], files, clipsPerClass, seconds, sampleRate, seed };
}
