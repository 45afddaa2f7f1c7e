export interface ClassReport {
  label: string;
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

export interface Evaluation {
  labels: string[];
  /** confusion[true][predicted] */
  confusion: number[][];
  accuracy: number;
  perClass: ClassReport[];
}

export function evaluate(labels: string[], truth: number[], predicted: number[]): Evaluation {
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    confusion[truth[i]!]![predicted[i]!]!++;
    if (truth[i] === predicted[i]) correct++;
  }
  const perClass = labels.map((label, c) => {
    const tp = confusion[c]![c]!;
    const support = confusion[c]!.reduce((a, b) => a + b, 0);
    const predictedAs = confusion.reduce((a, row) => a + row[c]!, 0);
    const precision = predictedAs ? tp / predictedAs : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    return { label, support, precision, recall, f1 };
  });
  return { labels, confusion, accuracy: truth.length ? correct / truth.length : 0, perClass };
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
