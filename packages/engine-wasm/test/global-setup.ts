/**
 * The tests import the built package (`../dist`, `../build/*.wasm`): rebuild it first when any
 * source is newer than the oldest build output, so that `vitest run` in this package always
 * tests the current sources (under turbo the build has just run and this is a no-op).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
const SOURCES = ["src", "assembly", "scripts", "tsconfig.json", "package.json"];
const OUTPUTS = ["dist", "build"];

/** Modification times (ms) of every file under `entries` (relative to the package). */
function mtimes(entries: string[]): number[] {
  const out: number[] = [];
  const visit = (p: string): void => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    else out.push(st.mtimeMs);
  };
  for (const e of entries) visit(path.join(root, e));
  return out;
}

export function isBuildStale(): boolean {
  const built = mtimes(OUTPUTS);
  if (built.length === 0) return true;
  return Math.max(...mtimes(SOURCES)) > Math.min(...built);
}

export default function setup(): void {
  if (!isBuildStale()) return;
  console.log("engine-wasm: sources are newer than dist/ and build/; running npm run build");
  execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
}
