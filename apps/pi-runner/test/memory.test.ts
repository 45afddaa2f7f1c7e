import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { collectGarbage } from "../src/memory.js";

const here = dirname(fileURLToPath(import.meta.url));
const memoryJs = resolve(here, "../dist/memory.js");

describe("memory", () => {
  it("collectGarbage frees ArrayBuffers that are no longer referenced", () => {
    let big: Uint8Array | null = new Uint8Array(48 * 2 ** 20).fill(1);
    const held = process.memoryUsage().arrayBuffers;
    expect(big[123]).toBe(1);
    big = null;
    expect(collectGarbage()).toBe(true);
    expect(process.memoryUsage().arrayBuffers).toBeLessThan(held - 40 * 2 ** 20);
  });

  it("keepYoungGenerationSmall stops the young generation from growing while objects survive", () => {
    // many surviving objects make V8 double the young generation; with the call it stays put
    const script = (limit: boolean) => `
      const v8 = require("node:v8");
      import(${JSON.stringify(memoryJs)}).then((m) => {
        ${limit ? "m.keepYoungGenerationSmall();" : ""}
        const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
        const start = newSpace();
        const keep = [];
        for (let i = 0; i < 400000; i++) keep.push({ i, s: "x" + i });
        console.log(JSON.stringify({ start, end: newSpace(), n: keep.length }));
      });`;
    const run = (limit: boolean) => {
      const r = spawnSync(process.execPath, ["-e", script(limit)], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { start: number; end: number };
    };
    const grown = run(false);
    const kept = run(true);
    // it may still grow once, to 2 MiB, but no further
    expect(grown.end).toBeGreaterThanOrEqual(4 * 2 ** 20);
    expect(kept.end).toBeLessThanOrEqual(Math.max(kept.start, 2 * 2 ** 20));
  });
});
