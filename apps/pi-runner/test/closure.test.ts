import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));

/** Finds the folder of an installed package the way Node does: node_modules upwards from `from`. */
function locate(name: string, from: string): string | null {
  for (let d = from; ; d = dirname(d)) {
    const p = join(d, "node_modules", name);
    if (existsSync(join(p, "package.json"))) return p;
    if (dirname(d) === d) return null;
  }
}

/** The production dependency closure (dependencies, optional and peer dependencies) of a package. */
function closure(pkgDir: string): Map<string, string> {
  const seen = new Map<string, string>();
  const todo = [pkgDir];
  while (todo.length) {
    const dir = todo.pop()!;
    const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const deps = { ...pj.dependencies, ...pj.optionalDependencies, ...pj.peerDependencies };
    for (const name of Object.keys(deps)) {
      if (seen.has(name)) continue;
      seen.set(name, pj.name);
      const found = locate(name, dir);
      if (found) todo.push(found);
    }
  }
  return seen;
}

describe("dependency closure", () => {
  it("contains no @tensorflow package", () => {
    const deps = closure(resolve(here, ".."));
    expect(deps.has("@edge-audio/engine-wasm")).toBe(true);
    expect(deps.has("@edge-audio/dsp")).toBe(true);
    const tf = [...deps]
      .filter(([n]) => n.startsWith("@tensorflow/"))
      .map(([n, by]) => `${n} (required by ${by})`);
    expect(tf).toEqual([]);
  });

  it("would catch a TensorFlow package (the check itself works)", () => {
    const deps = closure(resolve(here, "../../../packages/trainer"));
    expect([...deps.keys()].some((n) => n.startsWith("@tensorflow/"))).toBe(true);
  });
});
