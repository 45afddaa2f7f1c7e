import { describe, expect, it } from "vitest";
import { accuracyAxis } from "../src/report.js";

describe("accuracy axis of accuracy-vs-size.svg", () => {
  it("fits the data instead of 0-100 %", () => {
    const a = accuracyAxis([0.975, 1, 0.99, 0.985]);
    expect(a.lo).toBeGreaterThanOrEqual(0.9);
    expect(a.lo).toBeLessThan(0.975);
    expect(a.hi).toBe(1);
    expect((a.hi - a.lo) / a.step).toBeLessThanOrEqual(6);
  });

  it("keeps at least two steps when every value is the same, and stays within 0-100 %", () => {
    const a = accuracyAxis([0.1, 0.1]);
    expect(a.lo).toBeLessThan(0.1);
    expect(a.hi).toBeGreaterThan(0.1);
    expect((a.hi - a.lo) / a.step).toBeGreaterThanOrEqual(2);
    const b = accuracyAxis([0, 0.01]);
    expect(b.lo).toBe(0);
    const c = accuracyAxis([1]);
    expect(c.hi).toBe(1);
    expect(c.lo).toBeLessThan(1);
  });

  it("spans the whole range for widely spread values, and ignores NaN", () => {
    const a = accuracyAxis([0.06, 0.95, Number.NaN]);
    expect(a.lo).toBe(0);
    expect(a.hi).toBe(1);
    expect(accuracyAxis([Number.NaN])).toEqual({ lo: 0, hi: 1, step: 0.2 });
  });
});
