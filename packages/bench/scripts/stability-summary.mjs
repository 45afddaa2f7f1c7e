#!/usr/bin/env node
/**
 * Several `compare --rounds K` results side by side: per run, each runtime's process medians and
 * spread, and one chart of all of them.
 *   node scripts/stability-summary.mjs --out results/stability A.json B.json ...
 * writes OUT.md and OUT.svg; each run is labelled by its file name.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { processSpreadSvg, runtimeLabel } from "../dist/compare/report.js";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: "string" } } });
if (!values.out || positionals.length === 0) {
  console.error("usage: node scripts/stability-summary.mjs --out OUT A.json [B.json ...]");
  process.exit(2);
}
const runs = positionals.map((file) => ({
  label: basename(file, ".json"),
  report: JSON.parse(readFileSync(file, "utf8")),
}));
const lines = [
  "| run | measured (UTC) | load average start / end | runtime | threads | process medians, ms (p10-p90) | spread |",
  "| --- | --- | --- | --- | ---: | --- | ---: |",
];
for (const { label, report } of runs)
  for (const r of report.rows.filter((row) => row.processMediansMs)) {
    const p = r.processMediansMs.map((m, i) => {
      const q = r.processP10P90Ms?.[i];
      return q ? `${m.toFixed(1)} (${q[0].toFixed(0)}-${q[1].toFixed(0)})` : m.toFixed(1);
    });
    lines.push(
      `| ${label} | ${report.date.slice(0, 16)} | ${report.loadAvgStart[0].toFixed(2)} / ${report.loadAvgEnd[0].toFixed(2)} | ${runtimeLabel(r)} | ${r.threads} | ${p.join(", ")} | ${(100 * r.processSpread).toFixed(1)} % |`,
    );
  }
writeFileSync(`${values.out}.md`, `${lines.join("\n")}\n`);
writeFileSync(`${values.out}.svg`, processSpreadSvg(runs));
console.log(`wrote ${values.out}.md and ${values.out}.svg (${runs.length} runs)`);
