/**
 * One convention for every command of the five command lines, checked against the built bins:
 * --help and --version exit 0, an unknown flag and a missing input file exit 2 with a one-line
 * message (no stack trace), --json and --quiet are accepted, and --threads (where a command takes
 * it) refuses 0 and "1e3" and lowers a count above the cores to the core count with a warning.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLIS, type Cli, type Run, runBin, versionOf } from "./clis.js";

const tmp = mkdtempSync(join(tmpdir(), "cli-convention-"));
const MISSING = join(tmp, "does-not-exist");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Command {
  /** Words before the options ([] for a CLI's default command). */
  words: string[];
  /** Arguments naming a missing input file, or null when the command reads no input file. */
  missing: string[] | null;
}

const OUT = join(tmp, "out");
const COMMANDS: Record<string, Command[]> = {
  "edge-audio": [
    { words: ["train"], missing: ["--data", MISSING, "--out", OUT] },
    { words: ["demo-data"], missing: null },
    { words: ["export"], missing: ["--run", MISSING, "--out", join(OUT, "m.eam")] },
    { words: ["demo"], missing: null },
    { words: ["bench-train"], missing: null },
    { words: ["robustness"], missing: ["--model", `${MISSING}.eam`, "--data", MISSING] },
    { words: ["folds"], missing: ["--data", MISSING, "--folds", "5", "--out", OUT] },
  ],
  "edge-audio-quantize": [
    { words: [], missing: ["--model", `${MISSING}.eam`, "--mode", "fp16", "--out", join(OUT, "q.eam")] },
    { words: ["report"], missing: ["--model", `${MISSING}.eam`, "--data", MISSING, "--out", OUT] },
    { words: ["eval"], missing: ["--model", `${MISSING}.eam`, "--data", MISSING] },
    { words: ["export"], missing: ["--to", "onnx", `${MISSING}.eam`, "--out", join(OUT, "m.onnx")] },
  ],
  "edge-audio-dsp": [
    { words: ["mel"], missing: [`${MISSING}.wav`, "--png", join(OUT, "m.png")] },
    { words: ["demo"], missing: null },
  ],
  "edge-audio-engine": [
    { words: ["random"], missing: null },
    { words: ["info"], missing: [`${MISSING}.eam`] },
    { words: ["run"], missing: [`${MISSING}.eam`] },
  ],
  "pi-runner": [
    { words: ["classify"], missing: ["--model", `${MISSING}.eam`, `${MISSING}.wav`] },
    { words: ["eval"], missing: ["--model", `${MISSING}.eam`, "--data", MISSING] },
    { words: ["info"], missing: [`${MISSING}.eam`] },
    { words: ["bench"], missing: ["--model", `${MISSING}.eam`] },
  ],
};

const STACK = /\n\s+at .+:\d+/;

function expectUsageExit(r: Run, mention: RegExp | string): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr).toMatch(mention);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr.trim().split("\n").length, r.stderr).toBeLessThanOrEqual(2);
}

describe.each(CLIS)("$bin", (cli: Cli) => {
  const version = versionOf(cli);
  describe.each(COMMANDS[cli.bin]!)("$words", (cmd: Command) => {
    const name = [cli.bin, ...cmd.words].join(" ");
    const run = (...args: string[]) => runBin(cli, [...cmd.words, ...args]);
    const help = run("--help");

    it("--help prints the usage on stdout and exits 0", () => {
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/usage/i);
    });

    it("--version prints the package version and exits 0", () => {
      const r = run("--version");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.startsWith(cli.bin)).toBe(true);
      expect(r.stdout.trim().endsWith(` ${version}`), r.stdout).toBe(true);
    });

    it("an unknown flag exits 2 with a one-line message naming it", () => {
      expectUsageExit(run("--no-such-flag", ...(cmd.missing ?? [])), "--no-such-flag");
    });

    it.runIf(cmd.missing)("a missing input file exits 2 with a message naming it", () => {
      expectUsageExit(run(...cmd.missing!), "does-not-exist");
    });

    it.runIf(cmd.missing)("--json and --quiet are accepted", () => {
      const r = run(...cmd.missing!, "--json", "--quiet");
      expectUsageExit(r, "does-not-exist");
      expect(r.stderr).not.toMatch(/unknown option/i);
    });

    it.runIf(/--threads/.test(help.stdout))(
      `${name}: --threads refuses 0 and 1e3, lowers 100000 to the cores`,
      () => {
        const args = cmd.missing ?? [];
        expectUsageExit(run(...args, "--threads", "0"), "--threads");
        expectUsageExit(run(...args, "--threads", "1e3"), "--threads");
        const r = run(...args, "--threads", "100000");
        expect(r.stderr).toMatch(
          new RegExp(`--threads 100000 is more than the ${availableParallelism()} cores`),
        );
        expect(r.status).toBe(2);
      },
    );
  });
});
