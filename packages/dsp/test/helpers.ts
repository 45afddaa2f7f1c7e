import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/**
 * <repo root>/../shared/data: real GTZAN audio, never part of the repository.
 * EDGE_AUDIO_SHARED_DATA points elsewhere (or at a missing folder, to check the skips).
 */
export const DATA = process.env.EDGE_AUDIO_SHARED_DATA ?? resolve(here, "../../../../shared/data");
export const HAVE_DATA = existsSync(join(DATA, "gtzan-mini"));
export const HAVE_AU = existsSync(join(DATA, "gtzan-au", "blues.00000.au"));
export const SKIP_DATA_MSG = `shared test audio not found at ${DATA}; tests on real GTZAN clips are skipped`;
export const PKG = resolve(here, "..");

/** The seeded PRNG the package itself uses (mulberry32). */
export { mulberry32 as rng } from "../src/synth.js";

/** Brute-force DFT in float64: X[k] = sum x[n] e^{-2 pi i k n / N}. */
export function bruteDft(
  re: ArrayLike<number>,
  im?: ArrayLike<number>,
): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const a = (-2 * Math.PI * ((k * j) % n)) / n;
      const c = Math.cos(a);
      const s = Math.sin(a);
      const xr = re[j]!;
      const xi = im ? im[j]! : 0;
      sr += xr * c - xi * s;
      si += xr * s + xi * c;
    }
    outRe[k] = sr;
    outIm[k] = si;
  }
  return { re: outRe, im: outIm };
}
