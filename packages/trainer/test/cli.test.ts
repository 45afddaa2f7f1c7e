import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const cli = resolve(__dirname, "../dist/cli.js");
const tmp = mkdtempSync(join(tmpdir(), "trainer-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("edge-audio command line (needs the build: npm run build)", () => {
  it("prints help for every command", () => {
    expect(run("--help").out).toContain("demo-data");
    for (const c of ["train", "demo-data", "export", "demo", "bench-train", "robustness"]) {
      const r = run(c, "--help");
      expect(r.code, c).toBe(0);
      expect(r.out, c).toContain(`usage: edge-audio ${c}`);
    }
  });
  it("explains missing arguments, empty folders and missing runs", () => {
    const a = run("train", "--out", join(tmp, "r"));
    expect(a.code).toBe(2);
    expect(a.err).toContain("--data");
    const empty = join(tmp, "empty");
    mkdirSync(empty);
    const b = run("train", "--data", empty, "--out", join(tmp, "r"), "--backend", "cpu");
    expect(b.code).toBe(2);
    expect(b.err).toContain(empty);
    expect(b.err).toContain("<label>/<file>");
    const c = run("export", "--run", join(tmp, "nothing"), "--out", join(tmp, "m.eam"));
    expect(c.code).toBe(2); // a bad input folder, not a runtime failure
    expect(c.err).toContain("config.json");
    expect(run("frobnicate").code).toBe(2);
    expect(run("train", "--data", empty, "--out", "x", "--backend", "gpu").err).toContain("--backend");
    const norm = run("train", "--data", empty, "--out", "x", "--normalization", "pcen");
    expect(norm.code).toBe(2);
    expect(norm.err).toContain("--normalization must be one of none, crop-max, crop-mean");
  });
  it("refuses out-of-bounds and malformed numbers before any work, naming the flag (exit 2)", () => {
    const data = join(tmp, "never-read");
    const cases: [string[], RegExp][] = [
      [["--epochs", "-2"], /--epochs must be at least 1, got -2/],
      [["--epochs", "0"], /--epochs must be at least 1, got 0/],
      [["--batch-size", "0"], /--batch-size must be at least 1, got 0/],
      [["--epochs", "1e3"], /--epochs takes a whole number \(digits only\), got "1e3"/],
      [["--lr", "0"], /--lr must be more than 0/],
      [["--dropout", "1.5"], /--dropout must be at most 0.99/],
      [["--test-fraction", "abc"], /--test-fraction takes a number, got "abc"/],
    ];
    for (const [flags, message] of cases) {
      const r = run("train", "--data", data, "--out", join(tmp, "bounded"), ...flags);
      expect(r.code, flags.join(" ")).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/ambiguous|divide by zero|\n\s+at /);
    }
    expect(existsSync(join(tmp, "bounded"))).toBe(false); // no run folder written
    const neg = run("train", "--data", data, "--out", join(tmp, "bounded"), "--gain-range", "-6");
    expect(neg.err).toMatch(/--gain-range must be at least 0, got -6/);
  });
  it("writes the synthetic demo corpus", () => {
    const r = run(
      "demo-data",
      "--out",
      join(tmp, "demo"),
      "--clips-per-class",
      "1",
      "--seconds",
      "1",
      "--json",
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.files).toBe(10);
    expect(j.labels[0]).toBe("synthetic-blues");
    expect(existsSync(join(tmp, "demo", "PROVENANCE.txt"))).toBe(true);
  });
});
