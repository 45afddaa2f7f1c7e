/**
 * Thread-count independence (1, 2, 4 threads give bit-identical outputs) and what happens when a
 * worker thread dies under a loaded model.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { createRandomModel, encodeModel, loadModelFromBytes, randomCrop } from "../dist/index.js";
import { Barrier } from "../src/executor.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const distIndex = pathToFileURL(path.resolve(here, "../dist/index.js")).href;

function bits(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
}

describe("threads", () => {
  it("1, 2 and 4 threads give bit-identical outputs on several crops", async () => {
    const bytes = encodeModel(
      createRandomModel({ depth: 18, width: 0.25, inputHeight: 64, inputWidth: 64, numClasses: 10 }, 21),
    );
    const crops = [1, 2, 3, 4, 5].map((s) => randomCrop(64 * 64, s));
    crops.push(new Float32Array(64 * 64)); // silence
    crops.push(new Float32Array(64 * 64).fill(-80)); // a clamped dB floor
    const results: string[][] = [];
    for (const threads of [1, 2, 4]) {
      const m = await loadModelFromBytes(bytes, { threads });
      try {
        expect(m.info().threads).toBe(threads);
        // run each crop twice: a second run on the same threads must not differ either
        results.push(crops.map((c) => bits(m.run(c))));
        expect(crops.map((c) => bits(m.run(c)))).toEqual(results.at(-1));
      } finally {
        await m.dispose();
      }
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    expect(new Set(results[0]).size).toBeGreaterThan(1); // the crops give different outputs
  });
});

/** Runs `body` in a child Node process with a loaded 2-thread model `m`; returns what it printed. */
function child(body: string, timeoutMs: number) {
  const src = `
    import { createRandomModel, encodeModel, loadModelFromBytes } from ${JSON.stringify(distIndex)};
    const bytes = encodeModel(createRandomModel({ depth: 18, width: 0.125, inputHeight: 32, inputWidth: 32, numClasses: 4 }, 3));
    const m = await loadModelFromBytes(bytes, { threads: 2 });
    const x = new Float32Array(m.inputSize).fill(0.5);
    m.run(x);
    console.log("first run ok");
    ${body}
  `;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "eam-worker-")), "child.mjs");
  fs.writeFileSync(file, src);
  const r = spawnSync(process.execPath, [file], {
    encoding: "utf8",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return { out: r.stdout, err: r.stderr, status: r.status, signal: r.signal };
}

describe("a worker that dies", () => {
  it("the child harness sees a normal run end (so a hang would be the engine's)", () => {
    const r = child(`m.run(x); console.log("second run ok"); await m.dispose();`, 60_000);
    expect(r.err).toBe("");
    expect(r.out).toContain("second run ok");
    expect(r.status).toBe(0);
  });

  it("after a worker thread has exited, Model.run throws instead of waiting for it", () => {
    // The worker is terminated between runs; its exit event has been delivered before run().
    const r = child(
      `const w = m.workers[0];
       await w.terminate();
       try { m.run(x); console.log("returned"); } catch (e) { console.log("threw: " + e.message); }
       process.exit(0);`,
      8_000,
    );
    expect(r.out).toContain("first run ok");
    // a hang would end in the harness's SIGKILL instead
    expect(r.signal).toBeNull();
    expect(r.out).toMatch(/threw: .*worker/);
  });
});

describe("a thread lost in the middle of a run", () => {
  it("makes the others give up at the next barrier with an error instead of waiting forever", () => {
    const saved = Barrier.timeoutMs;
    Barrier.timeoutMs = 300;
    try {
      // two participants, only one arrives: the one that does must not wait forever
      const b = new Barrier(new Int32Array(new SharedArrayBuffer(64)), 0, 2, 10);
      expect(() => b.wait()).toThrow(/stopped responding/);
    } finally {
      Barrier.timeoutMs = saved;
    }
  });
});
