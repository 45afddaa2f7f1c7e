/** The stand-alone WASI build (build/engine-wasi.wasm) classifies a crop under node:wasi. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel, randomCrop, readModelHeader, writeRandomModel } from "../dist/index.js";

const runner = fileURLToPath(new URL("../dist/wasi-run.js", import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-wasi-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the WASI program in a child process (node dist/wasi-run.js), as a user would. */
function runWasi(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--no-warnings", runner, ...args.map((a) => path.join(dir, a))], {
    encoding: "utf8",
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function parse(stdout: string): { probs: number[]; top: string } {
  const lines = stdout
    .trim()
    .split("\n")
    .map((l) => l.split("\t"));
  const top = lines.pop()!;
  expect(top[0]).toBe("top");
  return { probs: lines.map((l) => Math.fround(Number(l[1]))), top: top[1]! };
}

describe("WASI build", () => {
  it("classifies a crop file exactly like the host engine", async () => {
    const model = path.join(dir, "m.eam");
    writeRandomModel(model, { depth: 18, width: 0.5, numClasses: 6 }, 21);
    const x = randomCrop(128 * 130, 13);
    fs.writeFileSync(path.join(dir, "crop.f32"), Buffer.from(x.buffer, x.byteOffset, x.byteLength));
    const r = runWasi(["m.eam", "crop.f32"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const { probs, top } = parse(r.stdout);
    // The WASI program runs 3x3 convolutions directly (IGEMM), as the host does with winograd: false.
    const m = await loadModel(model, { threads: 1, winograd: false });
    const want = Array.from(m.run(x));
    // Same kernels, same tile, same order: the same bits.
    expect(probs).toEqual(want);
    expect(top).toBe(`class${want.indexOf(Math.max(...want))}`);
    // Without a crop file it uses randomCrop(n, 7).
    const r2 = runWasi(["m.eam"]);
    expect(parse(r2.stdout).probs).toEqual(Array.from(m.run(randomCrop(128 * 130, 7))));
    await m.dispose();
  });

  it("refuses a damaged model with a message naming the section", () => {
    const model = path.join(dir, "bad.eam");
    writeRandomModel(model, { depth: 18, width: 0.125 }, 2);
    const b = fs.readFileSync(model);
    const h = readModelHeader(model);
    const t = h.tensors.find((x) => x.name === "layer1.0.conv1.weight")!;
    b[h.dataOffset + t.offset + 8]! ^= 0x20;
    fs.writeFileSync(model, b);
    const r = runWasi(["bad.eam"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /invalid .eam file \(data\): tensor layer1\.0\.conv1\.weight: checksum mismatch/,
    );
  });
});
