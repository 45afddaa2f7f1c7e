/**
 * Placement: an offset in the activation arena for every tensor, so that no two tensors alive
 * at the same time overlap, and the lower bounds the arena is compared with.
 */
import { align } from "./types.js";

/** A tensor's size and live range [def, lastUse] (op indices). */
export interface Lifetime {
  name: string;
  bytes: number;
  def: number;
  lastUse: number;
}

export interface ArenaPlacement {
  /** Tensor -> byte offset in the arena. */
  offsets: Map<string, number>;
  arenaBytes: number;
}

/** Each tensor at the lowest offset that does not overlap a tensor live at the same time, in `order`. */
function greedy(order: readonly Lifetime[]): ArenaPlacement {
  const placed: { off: number; size: number; def: number; last: number }[] = [];
  let top = 0;
  const offsets = new Map<string, number>();
  for (const t of order) {
    const size = align(t.bytes);
    const conflicts = placed
      .filter((p) => p.def <= t.lastUse && t.def <= p.last)
      .sort((a, b) => a.off - b.off);
    let off = 0;
    for (const c of conflicts) {
      if (off + size <= c.off) break;
      off = Math.max(off, c.off + c.size);
    }
    placed.push({ off, size, def: t.def, last: t.lastUse });
    offsets.set(t.name, off);
    top = Math.max(top, off + size);
  }
  return { offsets, arenaBytes: top };
}

/**
 * Greedy placement in several visiting orders (largest first, longest-lived first, execution
 * order, largest size x lifetime first); the smallest arena wins (the first on ties).
 */
export function placeTensors(tensors: readonly Lifetime[]): ArenaPlacement {
  const span = (t: Lifetime) => t.lastUse - t.def;
  const orders = [
    [...tensors].sort((a, b) => b.bytes - a.bytes || a.def - b.def),
    [...tensors].sort((a, b) => span(b) - span(a) || b.bytes - a.bytes),
    [...tensors].sort((a, b) => a.def - b.def || b.bytes - a.bytes),
    [...tensors].sort((a, b) => b.bytes * (span(b) + 1) - a.bytes * (span(a) + 1)),
  ];
  let best: ArenaPlacement = { offsets: new Map(), arenaBytes: Number.POSITIVE_INFINITY };
  for (const order of orders) {
    const p = greedy(order);
    if (p.arenaBytes < best.arenaBytes) best = p;
  }
  return best;
}

/** Sum of the (aligned) bytes alive at the worst op, from the graph input (-1) to the end (`ops`). */
export function peakLiveBytes(tensors: readonly Lifetime[], ops: number): number {
  let peak = 0;
  for (let i = -1; i <= ops; i++) {
    let s = 0;
    for (const t of tensors) if (t.def <= i && i <= t.lastUse) s += align(t.bytes);
    peak = Math.max(peak, s);
  }
  return peak;
}

/** Largest sum of the (aligned) bytes of one op's distinct tensors (inputs and output). */
export function largestOpBytes(ops: readonly (readonly Lifetime[])[]): number {
  let largest = 0;
  for (const tensors of ops)
    largest = Math.max(
      largest,
      tensors.reduce((s, t) => s + align(t.bytes), 0),
    );
  return largest;
}
