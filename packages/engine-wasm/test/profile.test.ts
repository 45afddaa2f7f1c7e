/** The per-op timing hook of Model.run: same outputs, bit for bit, and one time per op. */
import { describe, expect, it } from "vitest";
import { createRandomModel, encodeModel, loadModelFromBytes, randomCrop } from "../dist/index.js";

function bits(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
}

describe("Model.run with profile.stepMs", () => {
  for (const threads of [1, 2]) {
    it(`gives bit-identical outputs and a non-negative time per op (${threads} thread${threads > 1 ? "s" : ""})`, async () => {
      const bytes = encodeModel(
        createRandomModel({ depth: 18, width: 0.125, inputHeight: 32, inputWidth: 48, numClasses: 6 }, 4),
      );
      const m = await loadModelFromBytes(bytes, { threads });
      try {
        const crop = randomCrop(32 * 48, 9);
        const plain = bits(m.run(crop));
        const stepMs = new Float64Array(m.plan.ops.length);
        expect(bits(m.run(crop, { stepMs }))).toBe(plain);
        expect(bits(m.run(crop, { stepMs }))).toBe(plain);
        expect([...stepMs].every((t) => t >= 0 && Number.isFinite(t))).toBe(true);
        expect(stepMs.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
        expect(() => m.run(crop, { stepMs: new Float64Array(3) })).toThrow(/needs \d+ entries/);
        // a refused profile array leaves the model usable
        expect(bits(m.run(crop))).toBe(plain);
      } finally {
        await m.dispose();
      }
    });
  }
});
