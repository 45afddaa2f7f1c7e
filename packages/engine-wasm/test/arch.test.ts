import { describe, expect, it } from "vitest";
import {
  countMacs,
  countParams,
  defaultArchConfig,
  inferShapes,
  resnetSpec,
  weightShapes,
} from "../src/arch.js";

describe("arch", () => {
  it("ResNet-152 on 128x130 has the expected shapes and cost", () => {
    const spec = resnetSpec(defaultArchConfig({ depth: 152 }));
    const shapes = inferShapes(spec);
    expect(shapes.get("stem.conv")).toEqual([64, 65, 64]);
    expect(shapes.get("stem.pool")).toEqual([32, 33, 64]);
    expect(shapes.get("layer4.2.add")).toEqual([4, 5, 2048]);
    expect(shapes.get("head.softmax")).toEqual([10]);
    // Keras-style bottlenecks (stride on the first 1x1) cost 4.09 GMAC on 128x130.
    const macs = countMacs(spec);
    expect(macs).toBeGreaterThan(4.0e9);
    expect(macs).toBeLessThan(4.2e9);
    // 58.1 M parameters with a 10-class head (233 MB in FP32).
    expect(countParams(spec)).toBeGreaterThan(58e6);
    expect(countParams(spec)).toBeLessThan(58.5e6);
    expect(weightShapes(spec).get("stem.conv.weight")).toEqual([7, 7, 1, 64]);
  });
});
