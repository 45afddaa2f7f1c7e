import { describe, expect, it } from "vitest";
import { fftContenders, logMelContenders } from "../src/dsp/contenders.js";

// Checks that every benchmarked implementation computes what it is compared on; no timing here.
describe("dsp benchmark contenders", () => {
  it("every real-FFT contender agrees with a float64 DFT", async () => {
    const { contenders, maxRelError } = await fftContenders(2048);
    expect(contenders.length).toBeGreaterThanOrEqual(5);
    for (const [name, e] of Object.entries(maxRelError)) expect(e, name).toBeLessThan(1e-5);
    for (const c of contenders) c.run();
  });

  it("every log-Mel contender runs on a short clip", () => {
    const x = Float32Array.from({ length: 22050 }, (_, i) => 0.3 * Math.sin(i * 0.07));
    for (const c of logMelContenders(x)) c.run();
  });
});
