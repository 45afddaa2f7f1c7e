/**
 * The first command of each command-line package's README (the first line of its first ```sh
 * block), run as written from the repository root after `npm ci && npm run build`: `npx NAME`
 * must resolve to the workspace bin (npx would otherwise look in the registry and fail), exit 0 and
 * print no warning.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLIS, ROOT } from "./clis.js";

/** The first command of a README: first line of the first ```sh block, without its # comment. */
export function firstCommand(markdown: string): string | null {
  const block = /```sh\n([\s\S]*?)```/.exec(markdown);
  if (!block) return null;
  const line = block[1]!.split("\n").find((l) => l.trim() && !l.trim().startsWith("#"));
  return line ? line.replace(/\s+#.*$/, "").trim() : null;
}

describe("firstCommand", () => {
  it("takes the first line of the first sh block, without its comment", () => {
    expect(firstCommand("text\n```ts\nx\n```\n```sh\n# set-up\nnpx a --b c   # note\nnpx d\n```\n")).toBe(
      "npx a --b c",
    );
    expect(firstCommand("no code")).toBeNull();
  });
});

const npxWorks = spawnSync("npx", ["--version"], { encoding: "utf8" }).status === 0;

describe.each(CLIS)("README of $dir", ({ dir, bin }) => {
  const readme = readFileSync(join(ROOT, dir, "README.md"), "utf8");
  const cmd = firstCommand(readme);

  it("starts with a runnable sh block", () => {
    expect(cmd, `${dir}/README.md has no \`\`\`sh block`).not.toBeNull();
    expect(cmd!, "the first command runs the package's own bin through npx").toMatch(
      new RegExp(`(^|&& )npx ${bin}( |$)`),
    );
  });

  it.runIf(npxWorks)("its first command runs as written, with no warning", () => {
    const r = spawnSync("sh", ["-c", cmd!], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    expect(r.status, `${cmd}: ${r.stderr}`).toBe(0);
    expect(r.stderr).not.toMatch(/npm warn|warning/i);
  });
});
