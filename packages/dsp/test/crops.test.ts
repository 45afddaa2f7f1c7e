import { describe, expect, it } from "vitest";
import { cropFramesFor, evalCropOffsets, extractCrop } from "../src/index.js";

describe("crops", () => {
  it("sizes a 3 s crop at librosa's defaults as 130 frames", () => {
    expect(cropFramesFor(3, 22050, 512)).toBe(130);
  });

  it("covers the clip with the fewest evenly spread crops", () => {
    expect(evalCropOffsets(100, 130)).toEqual([0]);
    expect(evalCropOffsets(130, 130)).toEqual([0]);
    expect(evalCropOffsets(173, 130)).toEqual([0, 43]);
    expect(evalCropOffsets(1293, 130)).toEqual([0, 129, 258, 388, 517, 646, 775, 905, 1034, 1163]);
    for (const n of [131, 500, 777, 2000]) {
      const o = evalCropOffsets(n, 130);
      expect(o[0]).toBe(0);
      expect(o.at(-1)).toBe(n - 130);
      expect(o.length).toBe(Math.ceil(n / 130));
    }
  });

  it("copies (mel, frame) rows and pads past the end with the clip's minimum", () => {
    const spec = { data: Float32Array.from([0, 1, 2, 3, 4, 10, 11, 12, 13, -7]), nMels: 2, nFrames: 5 };
    expect([...extractCrop(spec, 1, 3)]).toEqual([1, 2, 3, 11, 12, 13]);
    expect([...extractCrop(spec, 3, 4)]).toEqual([3, 4, -7, -7, 13, -7, -7, -7]);
    const out = new Float32Array(8).fill(99);
    extractCrop(spec, 0, 2, out, 4);
    expect([...out]).toEqual([99, 99, 99, 99, 0, 1, 10, 11]);
  });
});
