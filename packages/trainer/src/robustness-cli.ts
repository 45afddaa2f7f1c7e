/** `edge-audio robustness`: the robustness suite from the command line. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CONDITIONS, robustnessMarkdown, robustnessSvg, runRobustness } from "./robustness.js";

export const ROBUSTNESS_HELP = `usage: edge-audio robustness --model M.eam [--model M2.eam ...] --data DIR [options]

Clip accuracy of each model's held-out clips (the split stored in the model file) under
degraded copies of the audio, classified by the engine the way pi-runner classifies a file.
Several --model files (e.g. the folds of a cross-validation) are pooled into one table.

conditions (${CONDITIONS.length}):
${CONDITIONS.map((c) => `  ${c.name.padEnd(15)} ${c.description}${c.tool === "builtin" ? "" : ` [${c.tool}]`}`).join("\n")}
Conditions whose tool (ffmpeg, sox) is not installed are skipped with a message.

options:
  --model FILE        model file (.eam); repeat for several models     (required)
  --data DIR          the folder the model was trained from (<label>/<audio>)  (required)
  --split test|all    held-out clips of each model (default) or every clip
  --conditions LIST   comma-separated subset of the conditions (clean always runs)
  --out DIR           write robustness.md, robustness.svg and robustness.json there
  --keep DIR          keep the degraded audio files in DIR (default: a temporary folder)
  --threads N         engine threads (default: all cores)
  --seed N            seed of the noise condition (default 1)
  --json              print the report as JSON on stdout
  --quiet             no progress output
  -h, --help          this help`;

class RobustnessUsageError extends Error {}

function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new RobustnessUsageError(`--${name} must be an integer >= 1, got "${v}"`);
  return n;
}

/** Runs the command; returns the exit code (2 for a bad command line). */
export async function robustnessCommand(argv: string[]): Promise<number> {
  let v: ReturnType<typeof parse>;
  try {
    v = parse(argv);
    if (v.help) {
      console.log(ROBUSTNESS_HELP);
      return 0;
    }
    if (!v.model?.length)
      throw new RobustnessUsageError("robustness needs --model FILE.eam (repeat it to pool several models)");
    if (!v.data)
      throw new RobustnessUsageError("robustness needs --data DIR, the folder the model was trained from");
    if (v.split !== undefined && v.split !== "test" && v.split !== "all")
      throw new RobustnessUsageError(`--split must be "test" or "all", got "${v.split}"`);
  } catch (e) {
    console.error(`edge-audio robustness: ${(e as Error).message}`);
    return 2;
  }
  const report = await runRobustness({
    models: v.model,
    data: v.data,
    split: (v.split as "test" | "all" | undefined) ?? "test",
    conditions: v.conditions
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    keepDir: v.keep,
    threads: positiveInt(v.threads, "threads"),
    seed: positiveInt(v.seed, "seed"),
    verbose: !v.quiet,
  });
  const md = robustnessMarkdown(report);
  if (v.out) {
    mkdirSync(v.out, { recursive: true });
    const clips = report.conditions[0]?.clips ?? 0;
    const title = `${report.models.length > 1 ? `${report.models.length} models pooled, ` : ""}${clips} ${report.split === "test" ? "held-out " : ""}clips`;
    writeFileSync(join(v.out, "robustness.md"), md);
    writeFileSync(join(v.out, "robustness.svg"), robustnessSvg(report, `robustness: ${title}`));
    writeFileSync(join(v.out, "robustness.json"), `${JSON.stringify(report, null, 2)}\n`);
  }
  if (v.json) console.log(JSON.stringify(report, null, 2));
  else process.stdout.write(md);
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      model: { type: "string", multiple: true },
      data: { type: "string" },
      split: { type: "string" },
      conditions: { type: "string" },
      out: { type: "string" },
      keep: { type: "string" },
      threads: { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean" },
      quiet: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }).values;
}
