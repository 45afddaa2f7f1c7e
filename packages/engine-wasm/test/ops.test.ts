/**
 * The op registry: every op of the graph format has an entry, names from a file that are not
 * ops (prototype keys included) are refused, and each op's shape inference agrees with the
 * shapes its float64 reference produces through a whole ResNet-50.
 */
import { describe, expect, it } from "vitest";
import { isKnownOp, layerInputs, OPS, opDef } from "../dist/ops/index.js";
import { createRandomModel, randomCrop } from "../dist/random.js";
import { refRunGraph } from "../dist/reference.js";

describe("op registry", () => {
  it("holds the seven graph ops and nothing else", () => {
    expect(Object.keys(OPS).sort()).toEqual(["add", "conv", "dense", "dropout", "gap", "maxpool", "softmax"]);
    for (const op of ["conv", "softmax"]) expect(isKnownOp(op)).toBe(true);
    for (const op of ["constructor", "toString", "__proto__", "relu", 3, null])
      expect(isKnownOp(op)).toBe(false);
  });

  it("shape inference agrees with the float64 reference of every layer (ResNet-50)", () => {
    const config = { depth: 50 as const, width: 0.125, inputHeight: 40, inputWidth: 36, numClasses: 5 };
    const m = createRandomModel(config, 2);
    const weights = new Map(m.tensors.map((t) => [t.name, t.data]));
    const env = refRunGraph(m.graph, (n) => weights.get(n)!, randomCrop(40 * 36, 3));
    const shapes = new Map([[m.graph.input, m.graph.inputShape]]);
    const seen = new Set<string>();
    for (const l of m.graph.layers) {
      const shape = opDef(l.op).outputShape(
        l,
        layerInputs(l).map((n) => shapes.get(n)!),
      );
      expect(shape, l.name).toEqual(env.get(l.name)!.shape);
      expect(env.get(l.name)!.data.length).toBe(shape.reduce((a, b) => a * b, 1));
      shapes.set(l.name, shape);
      seen.add(l.op);
    }
    expect([...seen].sort()).toEqual(Object.keys(OPS).sort());
  });

  it("shape inference refuses inputs an op cannot take, naming the layer", () => {
    expect(() =>
      OPS.add.outputShape({ op: "add", name: "a1", inputs: ["x", "y"], relu: false }, [
        [2, 3],
        [3, 2],
      ]),
    ).toThrow(/add a1: shapes \[2,3\] and \[3,2\] differ/);
    expect(() => OPS.gap.outputShape({ op: "gap", name: "g", input: "x" }, [[4]])).toThrow(
      /gap g: input must be HWC/,
    );
  });
});
