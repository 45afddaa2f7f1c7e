/** The stand-alone WASI build (build/engine-wasi.wasm) classifies a crop under node:wasi. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";
import { afterAll, describe, expect, it } from "vitest";
import { loadModel, randomCrop, readModelHeader, writeRandomModel } from "../dist/index.js";

const wasmFile = fileURLToPath(new URL("../build/engine-wasi.wasm", import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-wasi-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runWasi(args: string[]): { code: number; stdout: string; stderr: string } {
  const out = path.join(dir, "stdout.txt");
  const err = path.join(dir, "stderr.txt");
  const o = fs.openSync(out, "w");
  const e = fs.openSync(err, "w");
  const wasi = new WASI({
    version: "preview1",
    args: ["engine-wasi", ...args],
    preopens: { "/data": dir },
    stdout: o,
    stderr: e,
    returnOnExit: true,
  });
  const inst = new WebAssembly.Instance(
    new WebAssembly.Module(fs.readFileSync(wasmFile)),
    wasi.getImportObject() as WebAssembly.Imports,
  );
  const code = wasi.start(inst);
  fs.closeSync(o);
  fs.closeSync(e);
  return { code, stdout: fs.readFileSync(out, "utf8"), stderr: fs.readFileSync(err, "utf8") };
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
    const r = runWasi(["/data/m.eam", "/data/crop.f32"]);
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
    const r2 = runWasi(["/data/m.eam"]);
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
    const r = runWasi(["/data/bad.eam"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /invalid .eam file \(data\): tensor layer1\.0\.conv1\.weight: checksum mismatch/,
    );
  });
});
