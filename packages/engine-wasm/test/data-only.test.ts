/**
 * Model files are data: hostile metadata (path-like strings, __proto__ keys, code-looking text)
 * is read back verbatim as data and never changes an object prototype or runs anything.
 */
import * as fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRandomModel, encodeModel, loadModel, MetaType, readModel, writeModel } from "../dist/index.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "eam-data-only-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const PATHS = ["../../etc/passwd", "/etc/passwd", "..\\..\\windows\\win.ini", "file:///etc/shadow"];
const CODE = "globalThis.__eamPwned = 1; require('child_process').execSync('touch /tmp/eam-pwned')";

function hostile() {
  const c = createRandomModel(
    { depth: 18, width: 0.0625, inputHeight: 16, inputWidth: 16, numClasses: 4 },
    2,
  );
  c.labels = ["__proto__", "constructor", PATHS[0]!, CODE];
  // JSON text with __proto__ / constructor.prototype keys, as an attacker would write it
  c.mel = JSON.parse(
    '{"__proto__": {"polluted": "mel"}, "constructor": {"prototype": {"polluted": "ctor"}}, "sampleRate": 22050, "toString": "x"}',
  );
  c.provenance = {
    architecture: PATHS[0],
    trainingData: PATHS[1],
    notes: CODE,
    tools: JSON.parse('{"__proto__": {"polluted": "tools"}}'),
  };
  // fromEntries defines "__proto__" as an own key (an object literal would set the prototype)
  c.metadata = Object.fromEntries([
    ["__proto__", { type: MetaType.JSON, value: JSON.parse('{"__proto__": {"polluted": "key"}}') }],
    ["trainer.split", { type: MetaType.JSON, value: { test: PATHS, val: PATHS } }],
    ["include", { type: MetaType.STRING, value: PATHS[1]! }],
    ["weights.path", { type: MetaType.ARRAY, elementType: MetaType.STRING, value: PATHS }],
    ["code", { type: MetaType.STRING, value: CODE }],
  ]);
  return c;
}

function clean(): void {
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty("polluted");
  expect((globalThis as Record<string, unknown>).__eamPwned).toBeUndefined();
  expect(fs.existsSync("/tmp/eam-pwned")).toBe(false);
}

describe("model files are data only", () => {
  it("hostile metadata is read back verbatim; no prototype changes, nothing evaluated", async () => {
    const c = hostile();
    const bytes = encodeModel(c);
    const m = readModel(bytes);
    clean();
    expect(m.labels).toEqual(c.labels);
    expect(m.metadata.get("code")).toBe(CODE);
    expect(m.metadata.get("include")).toBe(PATHS[1]);
    expect(m.metadata.get("weights.path")).toEqual(PATHS);
    expect(m.provenance.notes).toBe(CODE);
    // a "__proto__" key is an ordinary entry of the metadata Map
    const proto = m.metadata.get("__proto__") as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.hasOwn(proto, "__proto__")).toBe(true);
    // JSON.parse keeps "__proto__" as an own data property; the parsed object's prototype is untouched
    const mel = m.mel as Record<string, unknown>;
    expect(Object.hasOwn(mel, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(mel)).toBe(Object.prototype);
    expect(mel.polluted).toBeUndefined();

    const f = path.join(dir, "hostile.eam");
    writeModel(f, c);
    const model = await loadModel(f, { threads: 1 });
    try {
      clean();
      expect(model.info().labels).toEqual(c.labels);
      expect(model.run(new Float32Array(model.inputSize)).length).toBe(4);
    } finally {
      await model.dispose();
    }
    clean();
  });

  it("the reader opens exactly the file it is given (no path from the file is followed)", async () => {
    const f = path.join(dir, "hostile2.eam");
    writeModel(f, hostile());
    const opened: string[] = [];
    // patch the CommonJS fs object and push it to the ESM bindings the dist build imports
    const cjsFs = createRequire(import.meta.url)("node:fs") as typeof fs;
    const realOpen = cjsFs.openSync;
    cjsFs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
      opened.push(String(p));
      return (realOpen as (...a: unknown[]) => number)(p, ...rest);
    }) as typeof fs.openSync;
    syncBuiltinESMExports();
    try {
      readModel(f);
      const m = await loadModel(f, { threads: 1 });
      await m.dispose();
    } finally {
      cjsFs.openSync = realOpen;
      syncBuiltinESMExports();
    }
    expect(opened.length).toBeGreaterThanOrEqual(2); // the spy saw the reader's opens
    // besides the model, only the engine's own kernel build may be read
    const build = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../build");
    for (const p of opened) if (p !== f) expect(path.dirname(p)).toBe(build);
    expect(opened).toContain(f);
    clean();
  });
});
