import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argmax } from "@edge-audio/common";
import { describe, expect, it, onTestFinished } from "vitest";
import { meanProbs, topK } from "../src/crops.js";
import { clipId, DatasetError, listClips } from "../src/dataset.js";
import { evaluate, formatConfusion } from "../src/metrics.js";

describe("crops", () => {
  it("averages probabilities and ranks labels", () => {
    const m = meanProbs([Float32Array.from([0.2, 0.8]), Float32Array.from([0.6, 0.4])]);
    expect(m[0]).toBeCloseTo(0.4, 6);
    expect(argmax(m)).toBe(1);
    expect(topK(m, ["a", "b"], 1)).toEqual([{ label: "b", p: m[1] }]);
  });
});

describe("metrics", () => {
  it("computes accuracy, confusion and per-class scores", () => {
    const e = evaluate(["a", "b", "c"], [0, 0, 1, 2, 2], [0, 1, 1, 2, 0]);
    expect(e.accuracy).toBeCloseTo(3 / 5, 12);
    expect(e.confusion).toEqual([
      [1, 1, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
    expect(e.perClass[1]).toMatchObject({ precision: 0.5, recall: 1 });
    expect(e.perClass[1]!.f1).toBeCloseTo(2 / 3, 12);
    expect(formatConfusion(e).split("\n")).toHaveLength(4);
  });
});

describe("listClips", () => {
  it("identifies clips by label and name whatever the extension", () => {
    expect(clipId("genres/blues/blues.00001.au")).toBe("blues/blues.00001");
    expect(clipId("blues/blues.00001")).toBe("blues/blues.00001");
    expect(clipId("rock\\rock.00002.WAV")).toBe("rock/rock.00002");
  });

  it("finds <label>/<file> audio under a genres/ folder in stable order", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-ds-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const g of ["rock", "blues"]) {
      mkdirSync(join(dir, "genres", g), { recursive: true });
      writeFileSync(join(dir, "genres", g, `${g}.00001.au`), "x");
      writeFileSync(join(dir, "genres", g, `${g}.00000.wav`), "x");
      writeFileSync(join(dir, "genres", g, "notes.txt"), "x");
    }
    const { clips, skipped } = listClips(dir);
    expect(skipped).toEqual([]);
    expect(clips.map((c) => c.id)).toEqual([
      "blues/blues.00000",
      "blues/blues.00001",
      "rock/rock.00000",
      "rock/rock.00001",
    ]);
  });

  it("names the folder when it is missing or holds no audio", () => {
    const dir = mkdtempSync(join(tmpdir(), "runner-empty-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    expect(() => listClips(dir)).toThrow(DatasetError);
    expect(() => listClips(dir)).toThrow(new RegExp(`${dir}: found no audio`));
    expect(() => listClips(join(dir, "nope"))).toThrow(/no such folder/);
  });
});
