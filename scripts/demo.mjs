// The README's main job on built-in demo data. Every step runs a package's own command line,
// so what the demo shows is exactly what a user gets from those commands.
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(`usage: npm run demo [-- --out DIR]

Runs the main job on built-in, synthetic demo data and writes its results to DIR
(default: out/demo). No real audio or network access is needed.`);
  process.exit(0);
}
const outIdx = args.indexOf("--out");
const out = resolve(outIdx >= 0 && args[outIdx + 1] ? args[outIdx + 1] : "out/demo");
mkdirSync(out, { recursive: true });

function step(title, cmd, cmdArgs) {
  console.log(`\n== ${title}`);
  const r = spawnSync(cmd, cmdArgs, { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`demo: step "${title}" failed (exit ${r.status ?? r.signal}); see the messages above.`);
    process.exit(r.status ?? 1);
  }
}

step("log-Mel front-end on a synthetic clip", process.execPath, ["packages/dsp/dist/cli.js", "demo", "--out", out]);
console.log(`\ndemo: results in ${out}`);
