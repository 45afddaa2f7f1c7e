/**
 * Load scratch: every raw tensor is read into memory the model uses afterwards (the activation
 * arena, or the part of the weight area still to be written), never past the arena, and never
 * over a weight that is already packed.
 */
import { describe, expect, it } from "vitest";
import { encodeModel, loadModelFromBytes, maxAbsDiff, randomCrop, refRunGraph } from "../dist/index.js";
import { scratchPlacement } from "../dist/model.js";
import { createRandomModel } from "../dist/random.js";

describe("load scratch placement", () => {
  for (const [name, config] of [
    ["ResNet-18 full width, 128x130", { depth: 18, numClasses: 10 }],
    [
      "ResNet-50 width 0.25, 64x40",
      { depth: 50, width: 0.25, inputHeight: 64, inputWidth: 40, numClasses: 10 },
    ],
  ] as const) {
    it(`${name}: inside the arena or below the weight's own destination, in load order`, async () => {
      const c = createRandomModel(config, 5);
      const m = await loadModelFromBytes(encodeModel(c), { threads: 1 });
      const p = m.plan;
      const { order, addr, extent } = scratchPlacement(p, m.header.tensors);
      expect(order.length).toBe(p.weights.length);
      const weightsAddr = Math.min(...p.weights.map((w) => w.dst));
      let belowUsed = 0;
      const packed: [number, number][] = [];
      for (const i of order) {
        const w = p.weights[i]!;
        const [a, e] = [addr[i]!, extent[i]!];
        if (a === p.arenaAddr) {
          expect(e, w.layer).toBeLessThanOrEqual(p.arenaBytes);
        } else {
          belowUsed++;
          expect(a).toBe(weightsAddr);
          expect(a + e, w.layer).toBeLessThanOrEqual(w.dst);
          for (const [d, n] of packed)
            expect(a + e <= d || d + n <= a, `${w.layer} over a packed weight`).toBe(true);
        }
        packed.push([w.dst, w.packedBytes]);
      }
      // these models have weights larger than their arena: the weight area is used
      expect(p.scratchBytes).toBeGreaterThan(p.arenaBytes);
      expect(belowUsed).toBeGreaterThan(0);
      // and the loaded model still computes the graph
      const x = randomCrop(m.inputSize, 9);
      const tensors = new Map(c.tensors.map((t) => [t.name, t.data]));
      const ref = refRunGraph(c.graph, (n) => tensors.get(n)!, x, []).get("head.softmax")!.data;
      expect(maxAbsDiff(m.run(x), ref)).toBeLessThan(1e-5);
      await m.dispose();
    });
  }
});
