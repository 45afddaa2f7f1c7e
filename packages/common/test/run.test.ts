import { spawnSync } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  exitQuietlyOnClosedPipe,
  InputError,
  packageVersion,
  reportError,
  UsageError,
} from "../src/index.js";

describe("reportError", () => {
  it("maps usage, input and file errors to 2 and the rest to 1", () => {
    expect(reportError("tool", new UsageError("--x is wrong"))).toEqual({
      code: 2,
      message: "tool: --x is wrong (see tool --help)",
    });
    const sub = Object.assign(new UsageError("--y is wrong"), { command: "tool run" });
    expect(reportError("tool", sub).message).toBe("tool: --y is wrong (see tool run --help)");
    expect(reportError("tool", new InputError("m.eam: not a model"))).toEqual({
      code: 2,
      message: "tool: m.eam: not a model",
    });
    const enoent = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT", path: "a.wav" });
    expect(reportError("tool", enoent)).toEqual({ code: 2, message: "tool: a.wav: no such file or folder" });
    const eisdir = Object.assign(new Error("EISDIR"), { code: "EISDIR", path: "dir" });
    expect(reportError("tool", eisdir).message).toBe("tool: dir: is a folder, a file is expected");
    const raw = Object.assign(new Error("Unknown option '--z'.\nmore"), {
      code: "ERR_PARSE_ARGS_UNKNOWN_OPTION",
    });
    expect(reportError("tool", raw)).toEqual({
      code: 2,
      message: "tool: Unknown option '--z'. (see tool --help)",
    });
    class FormatError extends Error {}
    expect(
      reportError("tool", new FormatError("bad"), { isInputError: (e) => e instanceof FormatError }).code,
    ).toBe(2);
    expect(reportError("tool", new Error("kernel failed"))).toEqual({
      code: 1,
      message: "tool: kernel failed",
    });
  });
});

describe("closed stdout", () => {
  it("exits 0 on EPIPE and rethrows other stream errors", () => {
    const s = new EventEmitter() as unknown as NodeJS.WritableStream;
    const codes: number[] = [];
    exitQuietlyOnClosedPipe([s], (c) => codes.push(c));
    s.emit("error", Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    expect(codes).toEqual([0]);
    expect(() => s.emit("error", Object.assign(new Error("disk full"), { code: "ENOSPC" }))).toThrow(
      "disk full",
    );
  });

  it("ends `cmd | head -1` quietly with exit 0 (real pipe)", () => {
    const dir = mkdtempSync(join(tmpdir(), "common-epipe-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, "many-lines.mjs");
    const runUrl = new URL("../dist/run.js", import.meta.url).href;
    writeFileSync(
      script,
      `import { runCli } from ${JSON.stringify(runUrl)};
runCli("lines", async () => {
  for (let i = 0; i < 200000; i++) {
    process.stdout.write("line " + i + "\\n");
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  return 0;
});
`,
    );
    const r = spawnSync(
      "sh",
      ["-c", `node ${JSON.stringify(script)} | head -1; echo "status=\${PIPESTATUS:-}"`],
      {
        encoding: "utf8",
      },
    );
    expect(r.stdout.split("\n")[0]).toBe("line 0");
    expect(r.stderr).toBe("");
    const code = spawnSync("bash", [
      "-c",
      `set -o pipefail; node ${JSON.stringify(script)} | head -1 >/dev/null`,
    ]);
    expect(code.status).toBe(0);
  });
});

describe("packageVersion", () => {
  it("reads the version of the package the module belongs to", () => {
    expect(packageVersion(import.meta.url)).toMatch(/^\d+\.\d+\.\d+/);
  });
});
