/**
 * The command-line conventions of pi-runner, run against the built CLI: closed stdout, output
 * formats and timelines of classify, eval's split and unreadable entries, bench, and the flags
 * and exit statuses every command shares.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultMelConfig, encodeWav } from "@edge-audio/dsp";
import { createRandomModel, fmaStatus, writeModel } from "@edge-audio/engine-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS, writeTestModel } from "./test-model.js";

const here = dirname(fileURLToPath(import.meta.url));
const cli = resolve(here, "../dist/cli.js");
const version = JSON.parse(readFileSync(resolve(here, "../package.json"), "utf8")).version as string;

let dir: string;
let model: string;
let data: string;

function run(args: string[], input?: Uint8Array) {
  const r = spawnSync(process.execPath, [cli, ...args], { input, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function jsonLines(out: string): Record<string, unknown>[] {
  return out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
}

function tone(seconds: number, rate: number, freq: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < x.length; i++) x[i] = 0.3 * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** Noise whose spectrum changes every 3 s, so that consecutive windows differ. */
function changing(seconds: number, rate: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * rate));
  let seed = 7;
  for (let i = 0; i < x.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const part = Math.floor(i / (3 * rate)) % 3;
    x[i] =
      (seed / 2 ** 32 - 0.5) * [0.05, 0.5, 0.9][part]! +
      0.3 * Math.sin((2 * Math.PI * (200 + 700 * part) * i) / rate);
  }
  return x;
}

beforeAll(() => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing; build first (npm run build)`);
  dir = mkdtempSync(join(tmpdir(), "pi-runner-commands-"));
  model = join(dir, "r18.eam");
  writeTestModel(model, 5);
  data = join(dir, "data");
  for (const [g, f] of [
    ["blues", 220],
    ["rock", 440],
  ] as const) {
    mkdirSync(join(data, g), { recursive: true });
    for (let i = 0; i < 3; i++)
      writeFileSync(join(data, g, `${g}.0000${i}.wav`), encodeWav([tone(4, 22050, f * (i + 1))], 22050));
  }
  writeFileSync(join(dir, "song.wav"), encodeWav([changing(16, 22050)], 22050));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a closed standard output", () => {
  /** Runs the CLI, reads its first line, closes the pipe and resolves with the exit status and stderr. */
  function firstLineThenClose(
    args: string[],
  ): Promise<{ code: number | null; signal: string | null; err: string; first: string }> {
    return new Promise((done) => {
      const p = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let first = "";
      let err = "";
      p.stderr.on("data", (b) => (err += b));
      p.stdout.on("data", (b: Buffer) => {
        first += b.toString();
        if (first.includes("\n")) p.stdout.destroy();
      });
      p.on("close", (code, signal) => done({ code, signal, err, first: first.split("\n")[0]! }));
    });
  }

  it("ends a multi-file classify quietly with exit 0, as `| head -1` does", async () => {
    const files = Array.from({ length: 8 }, () => join(dir, "song.wav"));
    const r = await firstLineThenClose(["classify", "--model", model, "--threads", "1", ...files]);
    expect(JSON.parse(r.first).file).toBe(files[0]);
    expect(r.err).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
    expect(r.code).toBe(0);
  });

  it("and through a shell pipe into head", () => {
    const files = Array.from({ length: 6 }, () => join(dir, "song.wav")).join(" ");
    const r = spawnSync(
      "bash",
      [
        "-c",
        `"${process.execPath}" "${cli}" classify --model "${model}" --threads 1 --json --segments ${files} | head -1; echo "status \${PIPESTATUS[0]}"`,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^\{"file":.*"segment":0.*\}\nstatus 0\n$/);
  });
});

describe("classify output", () => {
  it("prints a readable table with --format table (the default on a terminal)", () => {
    const f = join(data, "blues", "blues.00000.wav");
    const r = run(["classify", "--model", model, "--threads", "1", "--format", "table", "--top", "2", f]);
    expect(r.code).toBe(0);
    const [head, row] = r.out.trim().split("\n");
    expect(head).toMatch(/^file\s+top 2\s+duration\s+time$/);
    expect(row).toMatch(
      new RegExp(
        `^${f.replace(/[.\\/]/g, "\\$&")}\\s+\\w+\\s+[01]\\.\\d\\d\\s+\\w+\\s+[01]\\.\\d\\d\\s+0:04\\s+\\d+ ms$`,
      ),
    );
  });

  it("--top goes up to the label count and refuses more", () => {
    const f = join(data, "blues", "blues.00000.wav");
    const [l] = jsonLines(
      run(["classify", "--model", model, "--threads", "1", "--json", "--top", "10", f]).out,
    );
    const top = l!.top as { label: string; p: number }[];
    expect(top.map((t) => t.label).sort()).toEqual([...LABELS].sort());
    expect(top.reduce((a, t) => a + t.p, 0)).toBeCloseTo(1, 3);
    const r = run(["classify", "--model", model, "--top", "11", f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--top 11 is more than the model's 10 labels/);
  });

  it("gives the same result fields for a file, a streamed file and stdin", () => {
    const f = join(data, "rock", "rock.00001.wav");
    const keys = (l: Record<string, unknown>) =>
      ["file", "label", "top", "seconds", "crops", "mode", "ms"].filter((k) => k in l);
    const clip = jsonLines(run(["classify", "--model", model, "--json", f]).out).at(-1)!;
    const stream = jsonLines(run(["classify", "--model", model, "--json", "--stream", f]).out).at(-1)!;
    const stdin = jsonLines(run(["classify", "--model", model, "--json", "-"], readFileSync(f)).out).at(-1)!;
    for (const l of [clip, stream, stdin]) expect(keys(l)).toHaveLength(7);
    expect([clip.mode, stream.mode, stdin.mode]).toEqual(["clip", "stream", "stdin"]);
    // the stdin stream's overall result is the mean of its windows, as --stream's is
    expect(stdin.top).toEqual(stream.top);
  });

  it("--csv prints a header and one row per file, errors included", () => {
    const good = join(data, "blues", "blues.00000.wav");
    const bad = join(dir, "broken.wav");
    writeFileSync(bad, readFileSync(good).subarray(0, 30));
    const r = run(["classify", "--model", model, "--csv", "--top", "2", good, bad]);
    expect(r.code).toBe(2);
    const rows = r.out.trim().split("\n");
    expect(rows[0]).toBe("file,label,p,seconds,crops,mode,ms,label_1,p_1,label_2,p_2,error");
    expect(rows).toHaveLength(3);
    expect(rows[1]!.split(",")).toHaveLength(12);
    expect(rows[1]!.split(",")[3]).toBe("4");
    expect(rows[2]!.startsWith(`${bad},`)).toBe(true);
    expect(rows[2]).toMatch(/,[^,]*broken\.wav[^,]*$/);
    expect(run(["classify", "--model", model, "--csv", "--segments", good]).code).toBe(2);
  });

  it("--segments prints a timeline per file: windows, merged runs and the overall result", () => {
    const f = join(dir, "song.wav");
    const lines = jsonLines(
      run(["classify", "--model", model, "--threads", "1", "--json", "--segments", f]).out,
    );
    const segs = lines.filter((l) => l.segment !== undefined);
    const result = lines.at(-1)!;
    // 16 s = 690 frames: five whole windows of 130 frames
    expect(segs).toHaveLength(5);
    segs.forEach((s, i) => {
      expect(s.segment).toBe(i);
      expect(s.start).toBeCloseTo((i * 130 * 512) / 22050, 3);
      expect(s.end).toBeCloseTo(((i + 1) * 130 * 512) / 22050, 3);
      expect(s.label).toBe((s.top as { label: string }[])[0]!.label);
    });
    // merged runs: consecutive segments of one label, covering the segments without gaps
    const timeline = result.timeline as { start: number; end: number; label: string }[];
    expect(timeline[0]!.start).toBe(0);
    expect(timeline.at(-1)!.end).toBe(segs.at(-1)!.end);
    for (let i = 1; i < timeline.length; i++) {
      expect(timeline[i]!.start).toBe(timeline[i - 1]!.end);
      expect(timeline[i]!.label).not.toBe(timeline[i - 1]!.label);
    }
    const expected: unknown[] = [];
    for (const s of segs) if (expected.at(-1) !== s.label) expected.push(s.label);
    expect(timeline.map((t) => t.label)).toEqual(expected);
    expect(result.summary).toMatch(/^0:00–0:\d\d \w+/);
    expect(result.crops).toBe(5);
    // the overall result is the mean of the windows: the same as --stream on the same WAV
    const streamed = jsonLines(
      run(["classify", "--model", model, "--json", "--top", "10", "--stream", f]).out,
    )[0]!;
    const seg10 = jsonLines(
      run(["classify", "--model", model, "--json", "--top", "10", "--segments", f]).out,
    ).at(-1)!;
    expect(seg10.top).toEqual(streamed.top);
  });

  it("--segments SECONDS groups whole windows, on files and on stdin", () => {
    const f = join(dir, "song.wav");
    const file = jsonLines(run(["classify", "--model", model, "--json", "--segments", "6", f]).out);
    const segs = file.filter((l) => l.segment !== undefined);
    expect(segs).toHaveLength(3); // 2 + 2 + 1 windows
    expect(segs[0]!.end).toBeCloseTo((2 * 130 * 512) / 22050, 3);
    const stdin = jsonLines(
      run(["classify", "--model", model, "--json", "--segments", "6", "-"], readFileSync(f)).out,
    );
    expect(stdin.filter((l) => l.segment !== undefined).map((s) => s.label)).toEqual(
      segs.map((s) => s.label),
    );
    expect(stdin.at(-1)!.summary).toBe(file.at(-1)!.summary);
    const r = run(["classify", "--model", model, "--segments", "1", f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--segments 1: a segment is whole model windows of 3\.02 s/);
  });

  it("refuses folders, FIFOs and missing files by name, with exit 2 for the model", () => {
    const f = join(data, "blues", "blues.00000.wav");
    let r = run(["classify", "--model", dir, f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is a folder, not a model file/);
    expect(r.err).not.toMatch(/EISDIR/);
    r = run(["classify", "--model", join(dir, "none.eam"), f]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/none\.eam: no such file/);
    r = run(["classify", "--model", model, "--json", "--stream", data]);
    expect(r.code).toBe(2);
    expect(jsonLines(r.out)[0]!.error).toMatch(/is a folder, not an audio file/);
    expect(r.out + r.err).not.toMatch(/EISDIR/);
    // a device that reads without end is refused without being read
    r = run(["classify", "--model", model, "--json", "/dev/zero"]);
    expect(r.code).toBe(2);
    expect(jsonLines(r.out)[0]!.error).toMatch(/\/dev\/zero: is not a regular file/);
    const fifo = join(dir, "pipe.wav");
    if (spawnSync("mkfifo", [fifo]).status === 0) {
      r = run(["classify", "--model", model, "--json", fifo]);
      expect(r.code).toBe(2);
      expect(jsonLines(r.out)[0]!.error).toMatch(/not a regular file/);
    }
  });
});

describe("eval and the model's split", () => {
  it("scores only the held-out clips by default and says so in one line", () => {
    const r = run(["eval", "--model", model, "--data", data, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ split: "test", clips: 2 });
    expect(
      r.err
        .trim()
        .split("\n")
        .filter((l) => /split test/.test(l)),
    ).toHaveLength(1);
    expect(r.err).toMatch(/4 others excluded \(--split all includes them\)/);
  });

  it("--split all includes the training clips, with a warning", () => {
    const r = run(["eval", "--model", model, "--data", data, "--split", "all", "--json"]);
    expect(JSON.parse(r.out)).toMatchObject({ split: "all", clips: 6 });
    expect(r.err).toMatch(
      /warning: --split all: 4 of the 6 clips are not in the model's held-out test split/,
    );
    expect(run(["eval", "--model", model, "--data", data, "--split", "all", "--json", "--quiet"]).err).toBe(
      "",
    );
  });

  it("lists and skips dangling symlinks, symlink loops and FIFOs, never opening them", () => {
    const d = join(dir, "bad-entries");
    mkdirSync(join(d, "blues"), { recursive: true });
    writeFileSync(join(d, "blues", "blues.00001.wav"), encodeWav([tone(4, 22050, 300)], 22050));
    symlinkSync(join(d, "nowhere.wav"), join(d, "blues", "dangling.wav"));
    symlinkSync(join(d, "blues", "loop-b.wav"), join(d, "blues", "loop-a.wav"));
    symlinkSync(join(d, "blues", "loop-a.wav"), join(d, "blues", "loop-b.wav"));
    const fifo = spawnSync("mkfifo", [join(d, "blues", "fifo.wav")]).status === 0;
    const r = run(["eval", "--model", model, "--data", d, "--split", "all", "--json"]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.clips).toBe(1);
    const reasons = report.skipped.map((s: { reason: string }) => s.reason).join("\n");
    expect(reasons).toMatch(/dangling\.wav: a dangling symlink/);
    expect(reasons).toMatch(/loop-a\.wav: a symlink loop/);
    if (fifo) expect(reasons).toMatch(/fifo\.wav: a FIFO/);
    expect(r.err).toMatch(/skipped .*dangling\.wav/);
  });

  it("an empty folder is an input error (exit 2)", () => {
    const d = join(dir, "empty");
    mkdirSync(join(d, "blues"), { recursive: true });
    const r = run(["eval", "--model", model, "--data", d]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")[0]).toMatch(/empty: found no audio files/);
  });
});

describe("bench", () => {
  it("reports load, first run, warm statistics and peak memory, in text and JSON", () => {
    const j = run(["bench", "--model", model, "--threads", "1", "--warmup", "1", "--runs", "5", "--json"]);
    expect(j.code, j.err).toBe(0);
    const r = JSON.parse(j.out);
    expect(r).toMatchObject({ model, threads: 1, warmup: 1, runs: 5 });
    expect(r.loadMs).toBeGreaterThan(0);
    expect(r.firstMs).toBeGreaterThan(0);
    expect(r.ms.min).toBeGreaterThan(0);
    expect(r.ms.min).toBeLessThanOrEqual(r.ms.median);
    expect(r.ms.median).toBeLessThanOrEqual(r.ms.p90);
    expect(r.peakRssMB).toBeGreaterThan(10);
    expect(r.profile).toBeUndefined();
    const t = run(["bench", "--model", model, "--threads", "1", "--runs", "3"]);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^load\s+[\d.]+ ms$/m);
    expect(t.out).toMatch(/^first run\s+[\d.]+ ms$/m);
    expect(t.out).toMatch(/^warm runs\s+3 after 3 warm-up: min [\d.]+ ms, median [\d.]+ ms, p90 [\d.]+ ms/m);
    expect(t.out).toMatch(/^peak memory\s+[\d.]+ MiB resident$/m);
  });

  it("--fma loads the fused multiply-add GEMMs where the engine's check allows, and says so", () => {
    const j = run(["bench", "--model", model, "--threads", "1", "--runs", "1", "--fma", "--json"]);
    expect(j.code, j.err).toBe(0);
    const { fma } = JSON.parse(j.out);
    expect(fma.gemmLayers).toBeGreaterThan(0);
    expect(fma.fmaLayers).toBe(fmaStatus().usable ? fma.gemmLayers : 0);
    const off = JSON.parse(run(["bench", "--model", model, "--threads", "1", "--runs", "1", "--json"]).out);
    expect(off.fma.fmaLayers).toBe(0);
    expect(off.fma.reason).toMatch(/not requested/);
  });

  it("--profile gives the time per op family and the ten slowest layers", () => {
    const j = run(["bench", "--model", model, "--threads", "2", "--runs", "4", "--profile", "--json"]);
    expect(j.code, j.err).toBe(0);
    const p = JSON.parse(j.out).profile;
    expect(p.runs).toBe(4);
    const families = p.families as { family: string; ms: number; percent: number; ops: number }[];
    expect(families.map((f) => f.family)).toEqual(
      expect.arrayContaining(["conv", "add", "maxpool", "gap", "dense", "softmax"]),
    );
    // every op of the plan is counted once: ResNet-18 has 20 convolutions, 8 additions
    expect(families.find((f) => f.family === "add")!.ops).toBe(8);
    expect(families.reduce((a, f) => a + f.ms, 0)).toBeCloseTo(p.opMs, 2);
    expect(families.reduce((a, f) => a + f.percent, 0)).toBeCloseTo(100, 0);
    const layers = p.layers as { layer: string; ms: number; kernels: string[] }[];
    expect(layers).toHaveLength(10);
    for (let i = 1; i < layers.length; i++) expect(layers[i]!.ms).toBeLessThanOrEqual(layers[i - 1]!.ms);
    expect(layers.every((l) => l.kernels.length > 0)).toBe(true);
    const t = run(["bench", "--model", model, "--threads", "1", "--runs", "2", "--profile"]);
    expect(t.out).toMatch(/^op family\s+ops\s+ms\s+%$/m);
    expect(t.out).toMatch(/^ten slowest layers:$/m);
    expect(t.out).toMatch(/^layer\s+op\s+kernels\s+ms\s+%$/m);
  });
});

describe("info", () => {
  it("prints the architecture, Mel configuration and provenance as text, not raw JSON", () => {
    const f = join(dir, "prov.eam");
    const c = createRandomModel({ depth: 18, width: 0.125, numClasses: 10 }, 5);
    c.labels = LABELS;
    c.mel = defaultMelConfig() as unknown as Record<string, number | string | boolean | null>;
    c.provenance = {
      architecture: "resnet18",
      notes: "line one\n\u001b[31mred",
      tools: { "@edge-audio/trainer": "0.1.0" },
    };
    writeModel(f, c);
    const r = run(["info", f]);
    expect(r.code, r.err).toBe(0);
    const line = (k: string) => r.out.split("\n").find((l) => l.startsWith(k)) ?? "";
    expect(line("arch")).toMatch(/^arch\s+family resnet, depth 18, width 0\.125, /);
    expect(line("mel")).toMatch(/^mel\s+sampleRate 22050, nFft 2048, hopLength 512, /);
    expect(line("provenance")).toBe("provenance  architecture: resnet18");
    expect(r.out).toContain("            tools: @edge-audio/trainer 0.1.0");
    // text from the file with control characters is shown quoted, never sent to the terminal
    expect(r.out).toContain('notes: "line one\\n\\u001b[31mred"');
    expect(r.out).not.toContain("\u001b");
    expect(r.out).not.toMatch(/\{"/);
  });
});

describe("flags and exit statuses of every command", () => {
  const commands = ["classify", "eval", "info", "bench"];

  it("--help and --version on every command, exit 0", () => {
    for (const c of commands) {
      const h = run([c, "--help"]);
      expect(h.code).toBe(0);
      expect(h.out).toMatch(new RegExp(`usage: pi-runner ${c}`));
      for (const flag of ["--json", "--quiet", "--version", "--help"]) expect(h.out).toContain(flag);
      const v = run([c, "--version"]);
      expect(v.code).toBe(0);
      expect(v.out.trim()).toBe(`pi-runner ${c} ${version}`);
    }
    expect(run(["--version"]).out.trim()).toBe(`pi-runner ${version}`);
  });

  it("usage errors exit 2 with one line naming the flag", () => {
    const f = join(data, "blues", "blues.00000.wav");
    const cases: [string[], RegExp][] = [
      [["classify", "--model", model, "--bogus", f], /unknown option --bogus/],
      [["classify", "--model", model, "--threads", "0", f], /--threads must be at least 1, got 0/],
      [
        ["classify", "--model", model, "--threads", "1e3", f],
        /--threads takes a whole number \(digits only\), got "1e3"/,
      ],
      [["classify", "--model", model, "--top", "-2", f], /--top must be at least 1, got -2/],
      [["classify", "--model", model, "--segments", "0", f], /--segments must be more than 0, got 0/],
      [["classify", "--model", model, "--format", "yaml", f], /--format must be one of table, json, csv/],
      [["eval", "--model", model, "--data", data, "--split", "train"], /--split must be one of test, all/],
      [["eval", "--model", model, "--data", data, "--limit", "2.5"], /--limit takes a whole number/],
      [["bench", "--model", model, "--runs", "0"], /--runs must be at least 1, got 0/],
      [["bench", "--runs", "3"], /--model M\.eam is required/],
      [["info"], /give exactly one model file/],
      [["nonsense"], /unknown command "nonsense"/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err.split("\n")[0]).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  });

  it("--threads beyond the core count is lowered to it with a warning, unless --quiet", () => {
    const cores = availableParallelism();
    const f = join(data, "blues", "blues.00000.wav");
    let r = run(["bench", "--model", model, "--threads", "1000", "--runs", "1", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).threads).toBe(cores);
    expect(r.err).toMatch(
      new RegExp(`--threads 1000 is more than the ${cores} cores of this machine; using ${cores}`),
    );
    r = run(["classify", "--model", model, "--threads", "1000", "--quiet", f]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
  });

  it("--json on every command prints JSON", () => {
    const f = join(data, "blues", "blues.00000.wav");
    for (const args of [
      ["classify", "--model", model, "--json", f],
      ["eval", "--model", model, "--data", data, "--json", "--quiet"],
      ["info", model, "--json"],
      ["bench", "--model", model, "--threads", "1", "--runs", "2", "--warmup", "0", "--json"],
    ]) {
      const r = run(args);
      expect(r.code, `${args.join(" ")}: ${r.err}`).toBe(0);
      for (const l of r.out.trim().split("\n")) expect(() => JSON.parse(l)).not.toThrow();
    }
  });
});
