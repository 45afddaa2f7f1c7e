/** Markdown table and SVG charts of a compare report. */
import type { CompareReport, CompareRow } from "./run.js";

const f = (x: number | null, d = 1) => (x === null ? "-" : x.toFixed(d));
const e = (x: number | null) => (x === null ? "-" : x === 0 ? "0" : x.toExponential(1));

/** "engine int8", "litert fp16", "onnxruntime-node" (FP32 rows of other runtimes carry no variant). */
export function runtimeLabel(r: CompareRow): string {
  return r.runtime === "engine" || r.variant !== "fp32" || r.runtime === "litert"
    ? `${r.runtime} ${r.variant}`
    : r.runtime;
}

export function rowLabel(r: CompareRow): string {
  return `${runtimeLabel(r)}, ${r.threads} thr`;
}

export function compareMarkdown(report: CompareReport): string {
  const out: string[] = [];
  out.push(
    `Measured ${report.date} on ${report.cores} x ${report.cpu}, Node ${report.node}; input 1x${report.input[1]}x${report.input[2]} crop, batch 1; load average (1/5/15 min) at start ${report.loadAvgStart.map((v) => v.toFixed(2)).join(" ")}, at end ${report.loadAvgEnd.map((v) => v.toFixed(2)).join(" ")}.`,
  );
  out.push("");
  out.push(
    "`x engine` is the row's median over our engine's FP32 median at the same thread count in this run (above 1: slower than ours). Differences are max |p - p'| of the 10 class probabilities: against our FP32, against our engine running the same variant (`diff vs engine`; LiteRT.js and onnxruntime rows run files exported from the same `.eam`), and against the float64 reference. Peak RSS is VmHWM of a child process that loaded and ran only that row.",
  );
  out.push("");
  out.push(
    "| model | runtime | threads | median ms | p10-p90 ms | IQR ms | runs | x engine fp32 | diff vs fp32 | diff vs engine | diff vs f64 | peak RSS MB | load ms | model MB | load avg |",
  );
  out.push(
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const r of report.rows) {
    const what = runtimeLabel(r);
    const mbytes = r.modelBytes === null ? "-" : (r.modelBytes / 1e6).toFixed(1);
    if (r.unavailable) {
      out.push(
        `| ${r.model} | ${what} | ${r.threads} | **not available: ${r.unavailable.replace(/\|/g, "/")}** | | | | | | | | | | ${mbytes} | |`,
      );
      continue;
    }
    out.push(
      `| ${r.model} | ${what} | ${r.threads} | ${f(r.medianMs)} | ${f(r.p10Ms)}-${f(r.p90Ms)} | ${f(r.iqrMs)} | ${r.runs} | ${f(r.vsEngineFp32, 2)} | ${e(r.maxDiffVsFp32)} | ${e(r.maxDiffVsEngine ?? null)} | ${e(r.maxDiffVsF64)} | ${f(r.peakRssMB, 0)} | ${f(r.loadMs, 0)} | ${mbytes} | ${r.loadAvg[0].toFixed(2)}-${r.loadAvg[1].toFixed(2)} |`,
    );
  }
  out.push(...processSpreadMarkdown(report.rows));
  if (report.goals.length > 0) {
    out.push("");
    out.push("| goal | model | threads | measured | reached |");
    out.push("| --- | --- | ---: | ---: | --- |");
    for (const g of report.goals)
      out.push(
        `| ${g.goal} | ${g.model} | ${g.threads} | ${g.ratio === null ? "-" : `${g.ratio.toFixed(2)}x`} | ${g.target === null ? "(reported)" : g.reached === null ? "not measured" : g.reached ? "yes" : "no"} |`,
      );
  }
  return out.join("\n");
}

/** With several rounds: each configuration's median in each of its separate processes. */
function processSpreadMarkdown(rows: CompareRow[]): string[] {
  const spread = rows.filter((r) => r.processMediansMs !== null);
  if (spread.length === 0) return [];
  const out = [
    "",
    "Spread between separate processes (one child per round, rounds interleaved; spread = (max - min) / min of the medians):",
    "",
    "| model | runtime | threads | median (p10-p90) of each process, ms | spread |",
    "| --- | --- | ---: | --- | ---: |",
  ];
  for (const r of spread)
    out.push(
      `| ${r.model} | ${runtimeLabel(r)} | ${r.threads} | ${r.processMediansMs!.map((m, i) => `${m.toFixed(1)} (${r.processP10P90Ms![i]!.map((q) => q.toFixed(0)).join("-")})`).join(", ")} | ${(100 * r.processSpread!).toFixed(1)} % |`,
    );
  return out;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function colour(r: CompareRow): string {
  if (r.runtime === "engine")
    return { fp32: "#1b6ca8", fp16: "#3b8fd0", dynamic: "#6aaee0", int8: "#0b4f80" }[r.variant] ?? "#1b6ca8";
  if (r.runtime.startsWith("tfjs")) return "#e07b00";
  if (r.runtime === "onnxruntime-node") return "#4d8f3a";
  if (r.runtime === "litert") return "#8e44ad";
  return "#86b84a";
}

interface BarSpec {
  title: string;
  axis: string;
  log: boolean;
  value: (r: CompareRow) => number | null;
  text: (r: CompareRow) => string;
}

function barChart(report: CompareReport, spec: BarSpec): string {
  const labelW = 230;
  const plotW = 520;
  const textW = 190;
  const rowH = 18;
  const groupGap = 34;
  const models = [...new Set(report.rows.map((r) => r.model))];
  const vals = report.rows.map(spec.value).filter((v): v is number => v !== null && v > 0);
  const vmax = vals.length ? Math.max(...vals) : 1;
  const vmin = vals.length ? Math.min(...vals) : 1;
  const lo = spec.log ? 10 ** Math.floor(Math.log10(vmin)) : 0;
  const hi = spec.log ? 10 ** Math.ceil(Math.log10(vmax)) : vmax * 1.05;
  const x = (v: number) =>
    spec.log
      ? (plotW * (Math.log10(v) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo))
      : (plotW * v) / hi;
  const ticks: number[] = [];
  if (spec.log) for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  else {
    const step = 10 ** Math.floor(Math.log10(hi / 4));
    const s = hi / step > 20 ? step * 5 : hi / step > 8 ? step * 2 : step;
    for (let t = 0; t <= hi; t += s) ticks.push(t);
  }
  const top = 56;
  let y = top;
  const body: string[] = [];
  for (const m of models) {
    const rows = report.rows.filter((r) => r.model === m);
    body.push(`<text x="8" y="${y + 12}" font-weight="bold" font-size="13">${esc(m)}</text>`);
    y += 20;
    for (const r of rows) {
      const v = spec.value(r);
      body.push(
        `<text x="${labelW - 6}" y="${y + 13}" text-anchor="end" font-size="11">${esc(rowLabel(r))}</text>`,
      );
      if (v === null || v <= 0) {
        body.push(`<text x="${labelW + 4}" y="${y + 13}" font-size="11" fill="#a00">not available</text>`);
      } else {
        const w = Math.max(1, x(v));
        body.push(
          `<rect x="${labelW}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${colour(r)}"/>`,
        );
        body.push(
          `<text x="${(labelW + w + 4).toFixed(1)}" y="${y + 13}" font-size="11">${esc(spec.text(r))}</text>`,
        );
      }
      y += rowH;
    }
    y += groupGap - 20;
  }
  const bottom = y + 6;
  const grid = ticks
    .map((t) => {
      const gx = (labelW + x(t)).toFixed(1);
      const label = t >= 1000 ? `${t / 1000}k` : `${t}`;
      return `<line x1="${gx}" y1="${top - 4}" x2="${gx}" y2="${bottom}" stroke="#ddd"/><text x="${gx}" y="${bottom + 14}" text-anchor="middle" font-size="10">${label}</text>`;
    })
    .join("");
  const height = bottom + 40;
  const width = labelW + plotW + textW;
  const load = `load average ${report.loadAvgStart[0]!.toFixed(2)} -> ${report.loadAvgEnd[0]!.toFixed(2)}`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">
<title>${esc(spec.title)}</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="20" font-size="15" font-weight="bold">${esc(spec.title)}</text>
<text x="8" y="38" font-size="11" fill="#444">${esc(`${report.date.slice(0, 16)}Z, ${report.cores} x ${report.cpu}, Node ${report.node}, ${load}`)}</text>
${grid}
${body.join("\n")}
<text x="${labelW + plotW / 2}" y="${bottom + 30}" text-anchor="middle" font-size="11">${esc(spec.axis)}</text>
</svg>
`;
}

/** Latency bars (log scale) per runtime, labelled with the median and the ratio to our FP32. */
export function latencySvg(report: CompareReport): string {
  return barChart(report, {
    title: "ResNet latency, one crop, batch 1 (median; ratio to our engine FP32 at the same threads)",
    axis: "median latency, ms (log scale)",
    log: true,
    value: (r) => r.medianMs,
    text: (r) =>
      `${r.medianMs!.toFixed(1)} ms${r.vsEngineFp32 === null ? "" : `  (${r.vsEngineFp32.toFixed(2)}x)`}`,
  });
}

/** Peak RSS of the process running each row alone. */
export function memorySvg(report: CompareReport): string {
  return barChart(report, {
    title: "Peak resident memory of a process running one configuration (VmHWM)",
    axis: "peak RSS, MB (MiB)",
    log: false,
    value: (r) => r.peakRssMB,
    text: (r) => `${r.peakRssMB!.toFixed(0)} MB`,
  });
}
