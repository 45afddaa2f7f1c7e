/** Classification metrics and small SVG plots (no plotting dependency). */
import type { ClassificationReport as Report } from "@edge-audio/common";

export {
  type ClassificationReport as Report,
  type ClassMetrics,
  classificationReport,
} from "@edge-audio/common";

export function reportText(r: Report): string {
  const w = Math.max(8, ...r.perClass.map((c) => c.label.length));
  const lines = [`${"class".padEnd(w)}  precision  recall     f1  support`];
  for (const c of r.perClass) {
    lines.push(
      `${c.label.padEnd(w)}  ${c.precision.toFixed(3).padStart(9)}  ${c.recall.toFixed(3).padStart(6)}  ${c.f1.toFixed(3).padStart(5)}  ${String(c.support).padStart(7)}`,
    );
  }
  lines.push(`accuracy ${(r.accuracy * 100).toFixed(1)} % of ${r.n}, macro F1 ${r.macroF1.toFixed(3)}`);
  return lines.join("\n");
}

export function confusionCsv(r: Report, labels: string[]): string {
  const rows = [["true\\predicted", ...labels].join(",")];
  r.confusion.forEach((row, i) => {
    rows.push([labels[i], ...row].join(","));
  });
  return `${rows.join("\n")}\n`;
}

/** Escapes text for SVG. */
export const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

export interface Series {
  name: string;
  color: string;
  values: Array<number | null>;
}

/** Epoch numbers to label on an axis of `n` epochs: 1, the last, and round steps between. */
export function epochTicks(n: number): number[] {
  if (n <= 1) return [1];
  const step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 500].find((k) => n / k <= 8) ?? Math.ceil(n / 8);
  const ticks = [1];
  for (let e = step; e < n; e += step) if (e - ticks.at(-1)! >= step / 2) ticks.push(e);
  if (n - ticks.at(-1)! <= step / 2 && ticks.length > 1) ticks.pop();
  ticks.push(n);
  return ticks;
}

/**
 * A line chart of per-epoch series on two panels (loss; accuracy), with epoch tick labels. A series
 * with no value is left out of the legend; every point is marked, so one epoch still shows.
 */
export function learningCurveSvg(epochs: number[], loss: Series[], acc: Series[], title: string): string {
  const W = 760;
  const H = 324;
  const panel = (all: Series[], x0: number, label: string, yMax?: number): string => {
    const series = all.filter((s) => s.values.some((v) => v !== null && Number.isFinite(v)));
    const pw = W / 2 - 60;
    const ph = H - 114;
    const top = 48;
    const vals = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
    const hi = yMax ?? Math.max(1e-6, ...vals) * 1.05;
    const lo = 0;
    const n = Math.max(1, epochs.length - 1);
    const px = (i: number) => x0 + (epochs.length > 1 ? (i / n) * pw : pw / 2);
    const py = (v: number) => top + ph - ((v - lo) / (hi - lo)) * ph;
    let out = `<rect x="${x0}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`;
    out += `<text x="${x0 + pw / 2}" y="${top - 8}" text-anchor="middle" font-size="13">${esc(label)}</text>`;
    for (let t = 0; t <= 4; t++) {
      const v = lo + ((hi - lo) * t) / 4;
      out += `<text x="${x0 - 4}" y="${py(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(hi < 2 ? 2 : 1)}</text>`;
    }
    for (const e of epochTicks(epochs.length)) {
      const x = px(e - 1);
      out += `<line x1="${x}" y1="${top + ph}" x2="${x}" y2="${top + ph + 4}" stroke="#999"/>`;
      out += `<text x="${x}" y="${top + ph + 15}" text-anchor="middle" font-size="10">${epochs[e - 1] ?? e}</text>`;
    }
    out += `<text x="${x0 + pw / 2}" y="${top + ph + 32}" text-anchor="middle" font-size="11">epoch</text>`;
    series.forEach((s) => {
      const pts = s.values
        .map((v, i) => (v === null || !Number.isFinite(v) ? null : ([px(i), py(v)] as const)))
        .filter((p): p is readonly [number, number] => p !== null);
      if (pts.length > 1)
        out += `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ")}"/>`;
      for (const [x, y] of pts)
        out += `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.5" fill="${s.color}"/>`;
    });
    // Legend in a row under the panel, where it cannot cover a curve.
    let lx = x0;
    for (const s of series) {
      out += `<rect x="${lx}" y="${H - 16}" width="14" height="3" fill="${s.color}"/>`;
      out += `<text x="${lx + 18}" y="${H - 11}" font-size="11" fill="${s.color}">${esc(s.name)}</text>`;
      lx += 28 + textWidth(s.name, 11);
    }
    return out;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>
${panel(loss, 50, "loss")}
${panel(acc, W / 2 + 40, "accuracy", 1)}
</svg>
`;
}

/** Width in pixels of `s` at `fontSize` in a sans-serif font (a generous average glyph width). */
const textWidth = (s: string, fontSize: number) => s.length * fontSize * 0.62;

/** The colour of a share `a` in [0, 1] of a true class's clips. */
const shareColour = (a: number) => `rgb(${Math.round(255 - 200 * a)},${Math.round(255 - 150 * a)},255)`;

/**
 * The confusion matrix as a heat map: colour = share of the true class's clips, with a colour
 * scale; margins sized from the labels so that no label is clipped.
 */
export function confusionSvg(r: Report, labels: string[], title: string): string {
  const k = labels.length;
  const cell = 34;
  const longest = Math.max(0, ...labels.map((l) => textWidth(l, 11)));
  const left = Math.ceil(longest) + 16;
  // Column labels are rotated by -60 degrees from their anchor above each column.
  const top = Math.ceil(40 + longest * Math.sin(Math.PI / 3));
  const labelReach = cell / 2 + 4 + longest * Math.cos(Math.PI / 3);
  const scaleX = left + k * cell + 24;
  const scaleW = 14;
  const W = Math.ceil(
    Math.max(left + (k - 1) * cell + labelReach + 10, scaleX + scaleW + 110, textWidth(title, 14) + 20),
  );
  const H = top + k * cell + 40;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`;
  out += `<rect width="${W}" height="${H}" fill="white"/>`;
  out += `<defs><linearGradient id="share" x1="0" y1="1" x2="0" y2="0"><stop offset="0" stop-color="${shareColour(0)}"/><stop offset="1" stop-color="${shareColour(1)}"/></linearGradient></defs>`;
  out += `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`;
  r.confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    out += `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${esc(labels[i]!)}</text>`;
    row.forEach((v, j) => {
      out += `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${shareColour(v / total)}" stroke="#ccc"/>`;
      if (v)
        out += `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="11">${v}</text>`;
    });
  });
  labels.forEach((l, j) => {
    const x = left + j * cell + cell / 2;
    out += `<text transform="translate(${x + 4},${top - 6}) rotate(-60)" font-size="11">${esc(l)}</text>`;
  });
  const scaleH = Math.min(k * cell, 200);
  out += `<rect x="${scaleX}" y="${top}" width="${scaleW}" height="${scaleH}" fill="url(#share)" stroke="#999"/>`;
  for (const t of [0, 0.5, 1])
    out += `<text x="${scaleX + scaleW + 4}" y="${top + (1 - t) * scaleH + 4}" font-size="10">${t * 100} %</text>`;
  out += `<text x="${scaleX}" y="${top + scaleH + 16}" font-size="10">of the true</text>`;
  out += `<text x="${scaleX}" y="${top + scaleH + 28}" font-size="10">class's clips</text>`;
  out += `<text x="${left + (k * cell) / 2}" y="${H - 12}" text-anchor="middle" font-size="11">predicted (rows: true class)</text>`;
  return `${out}</svg>\n`;
}
