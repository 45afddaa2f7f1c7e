/** `edge-audio robustness`: the robustness suite from the command line. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseCommand, UsageError } from "@edge-audio/common";
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
  --threads N         engine threads (default and most: the core count)
  --seed N            seed of the noise condition (default 1)
  --json              print the report as JSON on stdout
  --quiet             no progress output
  --version           the package version
  -h, --help          this help`;

/** Runs the command (errors are thrown: UsageError for a bad command line). */
export async function robustnessCommand(argv: string[], version: string): Promise<void> {
  const a = parseCommand(argv, {
    name: "edge-audio robustness",
    help: ROBUSTNESS_HELP,
    version,
    options: {
      model: { type: "string", multiple: true },
      data: { type: "string", required: true, placeholder: "DIR" },
      split: { type: "string", choices: ["test", "all"] as const, default: "test" },
      conditions: { type: "string" },
      out: { type: "string" },
      keep: { type: "string" },
      threads: { type: "threads" },
      seed: { type: "integer", min: 0, default: 1 },
    },
  });
  if (!a) return;
  const v = a.values;
  if (!v.model?.length)
    throw new UsageError("--model FILE.eam is required (repeat it to pool several models)");
  const report = await runRobustness({
    models: v.model,
    data: v.data,
    split: v.split,
    conditions: v.conditions
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    keepDir: v.keep,
    threads: v.threads,
    seed: v.seed,
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
}
