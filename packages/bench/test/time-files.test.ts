/**
 * `dist/litert/time-files.js` (the side-by-side LiteRT.js timing of `.tflite` files): it times
 * every file in every round, alternating the order, and refuses bad input with one line and exit
 * code 2. No figure is checked (timings belong to benchmarks).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";
import { exportModel } from "@edge-audio/quantizer";
import { afterAll, describe, expect, it } from "vitest";

const cli = fileURLToPath(new URL("../dist/litert/time-files.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "bench-time-files-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });

describe("time-files", () => {
  it("times each file in each round, the second round in reverse order", () => {
    const eam = join(dir, "m.eam");
    writeModel(eam, createRandomModel({ depth: 18, width: 0.125, inputHeight: 16, inputWidth: 18 }, 2));
    const a = join(dir, "a.tflite");
    const b = join(dir, "b.tflite");
    exportModel(eam, { to: "tflite", out: a });
    exportModel(eam, { to: "tflite", out: b });
    const r = run(a, b, "--dims", "1,16,18,1", "--runs", "2", "--rounds", "2", "--json");
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout).rows as {
      file: string;
      round: number;
      runs: number;
      medianMs: number;
    }[];
    expect(rows.map((x) => [x.file, x.round])).toEqual([
      [a, 1],
      [b, 1],
      [b, 2],
      [a, 2],
    ]);
    for (const x of rows) {
      expect(x.runs).toBe(2);
      expect(x.medianMs).toBeGreaterThan(0);
    }
  });

  it("refuses bad input with one line naming it, exit code 2", () => {
    const junk = join(dir, "junk.tflite");
    writeFileSync(junk, "not a flatbuffer");
    const cases: [string[], RegExp][] = [
      [[], /no \.tflite file given/],
      [[join(dir, "missing.tflite")], /missing\.tflite: no such file/],
      [[dir], /is not a file/],
      [[junk, "--dims", "3,4"], /--dims 3,4: expected the input shape as 1,H,W,C/],
      [[junk, "--runs", "0"], /--runs 0: expected a whole number >= 1/],
      [
        [junk, "--runs", "1", "--rounds", "1"],
        /junk\.tflite: LiteRT\.js could not load or run it \(Error: Failed to load model/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
