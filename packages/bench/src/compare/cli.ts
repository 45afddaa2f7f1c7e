/** `node dist/cli.js compare [options]`: parses the compare suite's options and prints the table. */
import { parseArgs } from "node:util";
import { compareMarkdown } from "./report.js";
import {
  ALL_RUNTIMES,
  OPTION_VARIANTS,
  QUANT_VARIANTS,
  type Runtime,
  runCompare,
  SEVEN_BIT_VARIANTS,
} from "./run.js";

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);

export async function compareCli(argv: string[], quick: boolean, out?: string): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: {
      depth: { type: "string" },
      threads: { type: "string" },
      runtimes: { type: "string" },
      variants: { type: "string" },
      runs: { type: "string" },
      rounds: { type: "string" },
      width: { type: "string" },
      height: { type: "string" },
      frames: { type: "string" },
      seed: { type: "string" },
      work: { type: "string" },
      "no-f64": { type: "boolean" },
      "engine-node-flags": { type: "string" },
    },
  });
  const str = (k: string) => (typeof values[k] === "string" ? (values[k] as string) : undefined);
  const num = (k: string) => (str(k) === undefined ? undefined : Number(str(k)));
  const runtimes = str("runtimes") ? (list(str("runtimes")!) as Runtime[]) : undefined;
  for (const r of runtimes ?? [])
    if (!ALL_RUNTIMES.includes(r)) throw new Error(`unknown runtime "${r}" (${ALL_RUNTIMES.join(", ")})`);
  const variants = str("variants") === "none" ? [] : str("variants") ? list(str("variants")!) : undefined;
  for (const v of variants ?? [])
    if (
      !(
        [
          ...QUANT_VARIANTS,
          ...SEVEN_BIT_VARIANTS,
          ...Object.keys(OPTION_VARIANTS),
          "int8-tensor",
          "mixed",
        ] as string[]
      ).includes(v)
    )
      throw new Error(`unknown variant "${v}"`);
  const runs = num("runs");
  const report = await runCompare({
    quick,
    depths: str("depth") ? list(str("depth")!).map(Number) : undefined,
    threads: str("threads") ? list(str("threads")!).map(Number) : undefined,
    runtimes,
    variants,
    rounds: num("rounds"),
    engineNodeFlags: str("engine-node-flags")?.split(/\s+/).filter(Boolean),
    width: num("width"),
    height: num("height"),
    frames: num("frames"),
    seed: num("seed"),
    workDir: str("work"),
    f64: !values["no-f64"],
    measure: runs ? { warmup: 3, runs, maxTimeMs: 10_000, minRuns: Math.min(8, runs) } : undefined,
    out: out ?? "results/compare.json",
  });
  process.stdout.write(`${compareMarkdown(report)}\n`);
}
