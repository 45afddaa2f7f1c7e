/** The committed generated kernels (assembly/gen) are exactly what scripts/gen-gemm.mjs generates. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("regenerating the f32 GEMM / IGEMM kernels gives the committed files", () => {
  const script = fileURLToPath(new URL("../scripts/gen-gemm.mjs", import.meta.url));
  const r = spawnSync(process.execPath, [script, "--check"], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
});
