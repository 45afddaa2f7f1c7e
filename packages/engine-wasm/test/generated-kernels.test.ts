/** The committed generated files (assembly/gen, src/gen) are exactly what their generators make. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

for (const gen of ["gen-gemm.mjs", "gen-layout.mjs", "gen-kernels.mjs"])
  it(`regenerating with scripts/${gen} gives the committed files`, () => {
    const script = fileURLToPath(new URL(`../scripts/${gen}`, import.meta.url));
    const r = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
