import { describe, expect, it } from "vitest";
import { classificationReport } from "../src/index.js";

describe("classificationReport", () => {
  it("counts the confusion matrix by true row and predicted column and scores each class", () => {
    const r = classificationReport([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], ["a", "b", "c", "d"]);
    expect(r.confusion).toEqual([
      [1, 1, 0, 0],
      [0, 1, 0, 0],
      [1, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    expect(r.accuracy).toBe(3 / 5);
    expect(r.n).toBe(5);
    expect(r.perClass[0]).toEqual({ label: "a", precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(r.perClass[1]!.f1).toBeCloseTo(2 / 3, 15);
    // d never occurs: it scores 0 and does not count towards the macro F1.
    expect(r.perClass[3]).toEqual({ label: "d", precision: 0, recall: 0, f1: 0, support: 0 });
    expect(r.macroF1).toBeCloseTo((0.5 + 2 / 3 + 2 / 3) / 3, 15);
  });

  it("gives zeros for no samples", () => {
    const r = classificationReport([], [], ["a"]);
    expect(r.accuracy).toBe(0);
    expect(r.macroF1).toBe(0);
  });
});
