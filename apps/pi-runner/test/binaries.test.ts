/**
 * The single-file executables (npm run test:binaries builds them first and sets
 * EDGE_AUDIO_BINARIES=1). The arm64 one runs under qemu-user where qemu-aarch64-static and the
 * arm64 C libraries are installed (Debian: qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultMelConfig, encodeWav } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const bin = resolve(here, "../../../out/bin");
const shared = resolve(here, "../../../../shared/data");
const enabled = process.env.EDGE_AUDIO_BINARIES === "1";
const qemu = spawnSync("sh", ["-c", "command -v qemu-aarch64-static"], { encoding: "utf8" }).stdout.trim();
const armLibs = existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1");

function makeModel(dir: string): string {
  const c = createRandomModel({ depth: 18, width: 0.25, numClasses: 10 }, 11);
  // Scale the classifier down so the softmax is not saturated and probabilities are informative.
  const dense = c.tensors.find((t) => t.name === "head.dense.weight")!;
  const w = dense.data as Float32Array;
  for (let i = 0; i < w.length; i++) w[i]! *= 0.02;
  c.labels = ["blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"];
  c.mel = defaultMelConfig() as unknown as Record<string, number | string | boolean | null>;
  const path = join(dir, "model.eam");
  writeModel(path, c);
  return path;
}

function clip(dir: string): string {
  const real = join(shared, "gtzan-au", "blues.00000.au");
  if (existsSync(real)) return real;
  const x = new Float32Array(22050 * 7);
  for (let i = 0; i < x.length; i++) x[i] = 0.2 * Math.sin(i * 0.05) * Math.sin(i * 0.0007);
  const p = join(dir, "clip.wav");
  writeFileSync(p, encodeWav([x], 22050));
  return p;
}

function classify(cmd: string[], model: string, file: string) {
  const r = spawnSync(
    cmd[0]!,
    [...cmd.slice(1), "classify", "--model", model, "--top", "10", "--threads", "2", file],
    {
      encoding: "utf8",
      timeout: 300_000,
      env: { ...process.env, PI_RUNNER_CACHE: join(tmpdir(), "pi-runner-test-cache") },
    },
  );
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  const { ms: _ms, ...result } = JSON.parse(r.stdout);
  return result;
}

describe.skipIf(!enabled)("single-file executables", () => {
  // made in beforeAll, not in the describe body, which runs even when the suite is skipped
  let dir = "";
  let model = "";
  let file = "";
  let node: ReturnType<typeof classify>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "pi-runner-bin-"));
    model = makeModel(dir);
    file = clip(dir);
    node = classify([process.execPath, resolve(here, "../dist/cli.js")], model, file);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("linux-x64 prints exactly what the runner prints under node", () => {
    const exe = join(bin, "pi-runner-linux-x64");
    expect(existsSync(exe), `${exe} missing: run npm run build:binaries -w @edge-audio/pi-runner`).toBe(true);
    expect(classify([exe], model, file)).toEqual(node);
    expect(node.top[0].p).toBeLessThan(0.99);
  });

  it.skipIf(!qemu || !armLibs)("linux-arm64 under qemu-user prints the same result as linux-x64", () => {
    const exe = join(bin, "pi-runner-linux-arm64");
    expect(existsSync(exe)).toBe(true);
    expect(classify([qemu, "-L", "/usr/aarch64-linux-gnu", exe], model, file)).toEqual(node);
  });

  it("both print the package version and run bench --profile", () => {
    const version = JSON.parse(readFileSync(resolve(here, "../package.json"), "utf8")).version;
    const x64 = [join(bin, "pi-runner-linux-x64")];
    const arm =
      qemu && armLibs ? [[qemu, "-L", "/usr/aarch64-linux-gnu", join(bin, "pi-runner-linux-arm64")]] : [];
    for (const cmd of [x64, ...arm]) {
      const env = { ...process.env, PI_RUNNER_CACHE: join(tmpdir(), "pi-runner-test-cache") };
      const run = (args: string[]) =>
        spawnSync(cmd[0]!, [...cmd.slice(1), ...args], { encoding: "utf8", timeout: 300_000, env });
      const v = run(["--version"]);
      expect(v.stdout.trim(), v.stderr).toBe(`pi-runner ${version}`);
      const b = run([
        "bench",
        "--model",
        model,
        "--threads",
        "1",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--profile",
        "--json",
      ]);
      expect(b.status, b.stderr).toBe(0);
      const r = JSON.parse(b.stdout);
      expect(r.ms.median).toBeGreaterThan(0);
      expect(r.profile.layers).toHaveLength(10);
    }
  });
});

describe.skipIf(enabled)("single-file executables (not built in this run)", () => {
  it.skip("run npm run test:binaries -w @edge-audio/pi-runner to build and test them", () => {});
});
