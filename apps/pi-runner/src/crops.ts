/** Combining per-crop model outputs into a clip result. */
/** Mean of per-crop probability vectors. */
export function meanProbs(rows: Float32Array[]): Float32Array {
  const k = rows[0]!.length;
  const out = new Float32Array(k);
  for (const r of rows) for (let i = 0; i < k; i++) out[i]! += r[i]!;
  for (let i = 0; i < k; i++) out[i]! /= rows.length;
  return out;
}

export function topK(probs: Float32Array, labels: string[], k: number): { label: string; p: number }[] {
  return [...probs]
    .map((p, i) => ({ label: labels[i] ?? String(i), p }))
    .sort((a, b) => b.p - a.p)
    .slice(0, k);
}
