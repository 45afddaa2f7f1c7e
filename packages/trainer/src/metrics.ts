/** Classification metrics and small SVG plots (no plotting dependency). */

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Report {
  accuracy: number;
  /** confusion[true][predicted] */
  confusion: number[][];
  perClass: ClassMetrics[];
  macroF1: number;
  n: number;
}

export function argmax(a: ArrayLike<number>, offset = 0, n = a.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[offset + i]! > a[offset + best]!) best = i;
  return best;
}

export function classificationReport(truth: number[], predicted: number[], labels: string[]): Report {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  truth.forEach((t, i) => {
    confusion[t]![predicted[i]!]!++;
    if (t === predicted[i]) correct++;
  });
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedC = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predictedC ? tp / predictedC : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, precision, recall, f1, support };
  });
  const present = perClass.filter((c) => c.support > 0);
  return {
    accuracy: truth.length ? correct / truth.length : 0,
    confusion,
    perClass,
    macroF1: present.length ? present.reduce((a, c) => a + c.f1, 0) / present.length : 0,
    n: truth.length,
  };
}

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

/** A line chart of per-epoch series on two panels (loss; accuracy). */
export function learningCurveSvg(epochs: number[], loss: Series[], acc: Series[], title: string): string {
  const W = 760;
  const H = 300;
  const panel = (series: Series[], x0: number, label: string, yMax?: number): string => {
    const pw = W / 2 - 60;
    const ph = H - 90;
    const top = 40;
    const vals = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
    const hi = yMax ?? Math.max(1e-6, ...vals) * 1.05;
    const lo = 0;
    const n = Math.max(1, epochs.length - 1);
    const px = (i: number) => x0 + (i / n) * pw;
    const py = (v: number) => top + ph - ((v - lo) / (hi - lo)) * ph;
    let out = `<rect x="${x0}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`;
    out += `<text x="${x0 + pw / 2}" y="${top - 8}" text-anchor="middle" font-size="13">${esc(label)}</text>`;
    for (let t = 0; t <= 4; t++) {
      const v = lo + ((hi - lo) * t) / 4;
      out += `<text x="${x0 - 4}" y="${py(v) + 4}" text-anchor="end" font-size="10">${v.toFixed(hi < 2 ? 2 : 1)}</text>`;
    }
    out += `<text x="${x0 + pw / 2}" y="${top + ph + 28}" text-anchor="middle" font-size="11">epoch (1..${epochs.length})</text>`;
    series.forEach((s, si) => {
      const pts = s.values
        .map((v, i) => (v === null || !Number.isFinite(v) ? null : `${px(i).toFixed(1)},${py(v).toFixed(1)}`))
        .filter(Boolean);
      if (pts.length)
        out += `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(" ")}"/>`;
      out += `<text x="${x0 + 8}" y="${top + 16 + 14 * si}" font-size="11" fill="${s.color}">${esc(s.name)}</text>`;
    });
    return out;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>
${panel(loss, 50, "loss")}
${panel(acc, W / 2 + 40, "accuracy", 1)}
</svg>
`;
}

/** The confusion matrix as a heat map. */
export function confusionSvg(r: Report, labels: string[], title: string): string {
  const k = labels.length;
  const cell = 34;
  const left = 150;
  const top = 150;
  const W = left + k * cell + 20;
  const H = top + k * cell + 40;
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">`;
  out += `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`;
  r.confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    out += `<text x="${left - 6}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${esc(labels[i]!)}</text>`;
    row.forEach((v, j) => {
      const a = v / total;
      const color = `rgb(${Math.round(255 - 200 * a)},${Math.round(255 - 150 * a)},255)`;
      out += `<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${color}" stroke="#ccc"/>`;
      if (v)
        out += `<text x="${left + j * cell + cell / 2}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="11">${v}</text>`;
    });
  });
  labels.forEach((l, j) => {
    const x = left + j * cell + cell / 2;
    out += `<text transform="translate(${x + 4},${top - 6}) rotate(-60)" font-size="11">${esc(l)}</text>`;
  });
  out += `<text x="${left + (k * cell) / 2}" y="${H - 12}" text-anchor="middle" font-size="11">predicted (rows: true class)</text>`;
  return `${out}</svg>\n`;
}
