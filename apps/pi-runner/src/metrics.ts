import { type ClassificationReport, classificationReport } from "@edge-audio/common";

/** Scores of a labelled run, with the labels they refer to. */
export interface Evaluation extends ClassificationReport {
  labels: string[];
}

export function evaluate(labels: string[], truth: number[], predicted: number[]): Evaluation {
  return { labels, ...classificationReport(truth, predicted, labels) };
}

/** Plain-text confusion matrix with row = true label, column = predicted label. */
export function formatConfusion(e: Evaluation): string {
  const short = e.labels.map((l) => l.slice(0, 5));
  const w = Math.max(5, ...e.labels.map((l) => l.length));
  const head = `${"true \\ pred".padEnd(w)} ${short.map((s) => s.padStart(5)).join(" ")}`;
  const rows = e.labels.map(
    (l, i) => `${l.padEnd(w)} ${e.confusion[i]!.map((n) => String(n).padStart(5)).join(" ")}`,
  );
  return [head, ...rows].join("\n");
}
