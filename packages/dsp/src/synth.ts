/** Deterministic 32-bit PRNG (mulberry32), values in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const midiHz = (n: number): number => 440 * 2 ** ((n - 69) / 12);

/**
 * A synthetic, music-like demo clip (no recording involved): 120 bpm drum pattern (kick on every
 * beat, snare on 2 and 4, closed hi-hat on eighths), a bass line and a C - Am - F - G chord
 * progression of additive-synthesis pads, one chord per bar. Deterministic for a given seed.
 */
export function synthDemoClip(seconds = 10, sampleRate = 22050, seed = 1): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  const rand = mulberry32(seed);
  const beat = 0.5; // seconds at 120 bpm
  const chords = [
    [60, 64, 67],
    [57, 60, 64],
    [53, 57, 60],
    [55, 59, 62],
  ];
  const add = (start: number, len: number, f: (t: number) => number) => {
    const i0 = Math.round(start * sampleRate);
    const i1 = Math.min(n, i0 + Math.round(len * sampleRate));
    for (let i = i0; i < i1; i++) out[i] = out[i]! + f((i - i0) / sampleRate);
  };
  const nBeats = Math.floor(seconds / beat);
  for (let b = 0; b < nBeats; b++) {
    const t0 = b * beat;
    // kick: falling sine sweep
    add(
      t0,
      0.35,
      (t) =>
        0.9 * Math.exp(-t * 12) * Math.sin(2 * Math.PI * (45 * t + (110 / 25) * (1 - Math.exp(-25 * t)))),
    );
    // snare on beats 2 and 4: noise burst plus a short tone
    if (b % 2 === 1) {
      const noise = Array.from({ length: Math.round(0.2 * sampleRate) }, () => rand() * 2 - 1);
      add(t0, 0.2, (t) => {
        const i = Math.min(noise.length - 1, Math.round(t * sampleRate));
        return Math.exp(-t * 22) * (0.35 * noise[i]! + 0.25 * Math.sin(2 * Math.PI * 190 * t));
      });
    }
    // hi-hat on eighths: first difference of noise (bright), very short
    for (const off of [0, beat / 2]) {
      let prev = 0;
      add(t0 + off, 0.06, (t) => {
        const w = rand() * 2 - 1;
        const v = w - prev;
        prev = w;
        return 0.12 * Math.exp(-t * 70) * v;
      });
    }
  }
  const bar = 4 * beat;
  for (let k = 0; k * bar < seconds; k++) {
    const chord = chords[k % chords.length]!;
    // pad: three voices with a few harmonics and a slow attack/release
    for (const note of chord) {
      const f0 = midiHz(note);
      add(k * bar, bar, (t) => {
        const env = Math.min(1, t / 0.08) * Math.min(1, (bar - t) / 0.15);
        let v = 0;
        for (let h = 1; h <= 5; h++) v += Math.sin(2 * Math.PI * f0 * h * t + h) / (h * h);
        return 0.06 * env * v;
      });
    }
    // bass: root an octave down, on every beat
    for (let b = 0; b < 4; b++) {
      const f0 = midiHz(chord[0]! - 24);
      add(
        k * bar + b * beat,
        beat * 0.9,
        (t) => 0.22 * Math.exp(-t * 3) * Math.sin(2 * Math.PI * f0 * t) * Math.min(1, t / 0.01),
      );
    }
  }
  let peak = 0;
  for (const v of out) peak = Math.max(peak, Math.abs(v));
  if (peak > 0) for (let i = 0; i < n; i++) out[i] = (out[i]! / peak) * 0.8;
  return out;
}
