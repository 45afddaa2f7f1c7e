import { describe, expect, it } from "vitest";
import { mulberry32 } from "../src/index.js";

describe("mulberry32", () => {
  it("gives the mulberry32 sequence as 32-bit integers over 2^32", () => {
    const r = mulberry32(1);
    expect([r(), r(), r()].map((x) => x * 2 ** 32)).toEqual([2693262067, 11749833, 2265367787]);
    const z = mulberry32(0);
    expect(z() * 2 ** 32).toBe(1144304738);
  });

  it("repeats for a seed, reads the seed modulo 2^32 and stays in [0, 1)", () => {
    const a = mulberry32(7);
    const b = mulberry32(7 + 2 ** 32);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(b()).toBe(x);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});
