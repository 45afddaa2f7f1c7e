/**
 * Index of the largest of the `n` values starting at `offset`, relative to `offset`; the first
 * one wins a tie, and 0 is returned when there are no values.
 */
export function argmax(values: ArrayLike<number>, offset = 0, n = values.length - offset): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}
