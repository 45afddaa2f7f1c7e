import { describe, expect, it } from "vitest";
import { argmax } from "../src/index.js";

describe("argmax", () => {
  it("returns the first index of the largest value", () => {
    expect(argmax([1, 3, 2, 3])).toBe(1);
    expect(argmax(new Float32Array([-2, -1, -5]))).toBe(1);
    expect(argmax([])).toBe(0);
  });

  it("reads a window of a flat array, relative to its start", () => {
    const flat = new Float32Array([9, 0, 1, 5, 2, 7]);
    expect(argmax(flat, 3, 3)).toBe(2);
    expect(argmax(flat, 1, 3)).toBe(2);
    expect(argmax(flat, 0, 3)).toBe(0);
  });
});
