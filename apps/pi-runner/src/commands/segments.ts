/**
 * Timelines: consecutive model windows grouped into segments of a chosen length, the top label of
 * each, and runs of equal labels merged into a summary such as "0:00–1:12 rock, 1:12–1:40 metal".
 */
import { argmax } from "@edge-audio/common";
import { clock } from "./format.js";

export interface Segment {
  index: number;
  /** Seconds from the start of the file or stream. */
  start: number;
  end: number;
  label: string;
  p: number;
  /** Mean probabilities of the segment's windows. */
  probs: Float32Array;
}

export interface TimelineSpan {
  start: number;
  end: number;
  label: string;
}

/**
 * Accumulates window probabilities into segments of `windowsPerSegment` windows (the last
 * segment may hold fewer) and keeps the running mean of all windows for the overall result.
 */
export class SegmentBuilder {
  private readonly sum: Float64Array;
  private readonly all: Float64Array;
  private inSegment = 0;
  private segmentStart = 0;
  private segmentEnd = 0;
  windows = 0;
  readonly segments: Segment[] = [];

  constructor(
    private readonly labels: string[],
    private readonly windowsPerSegment: number,
    private readonly onSegment: (s: Segment) => void = () => {},
  ) {
    this.sum = new Float64Array(labels.length);
    this.all = new Float64Array(labels.length);
  }

  /** One window's probabilities, covering [start, end) seconds. */
  add(probs: Float32Array, start: number, end: number): void {
    if (this.inSegment === 0) this.segmentStart = start;
    for (let i = 0; i < this.sum.length; i++) {
      this.sum[i]! += probs[i]!;
      this.all[i]! += probs[i]!;
    }
    this.segmentEnd = end;
    this.inSegment++;
    this.windows++;
    if (this.inSegment === this.windowsPerSegment) this.flush();
  }

  /** Closes the last, possibly shorter, segment. */
  end(): void {
    if (this.inSegment > 0) this.flush();
  }

  /** Mean probabilities over every window so far (null before the first). */
  overall(): Float32Array | null {
    if (this.windows === 0) return null;
    return Float32Array.from(this.all, (s) => s / this.windows);
  }

  private flush(): void {
    const probs = Float32Array.from(this.sum, (s) => s / this.inSegment);
    const best = argmax(probs);
    const s: Segment = {
      index: this.segments.length,
      start: this.segmentStart,
      end: this.segmentEnd,
      label: this.labels[best]!,
      p: probs[best]!,
      probs,
    };
    this.segments.push(s);
    this.sum.fill(0);
    this.inSegment = 0;
    this.onSegment(s);
  }
}

/** Runs of consecutive segments with the same top label, merged. */
export function mergeTimeline(segments: readonly Pick<Segment, "start" | "end" | "label">[]): TimelineSpan[] {
  const spans: TimelineSpan[] = [];
  for (const s of segments) {
    const last = spans.at(-1);
    if (last && last.label === s.label) last.end = s.end;
    else spans.push({ start: s.start, end: s.end, label: s.label });
  }
  return spans;
}

/** "0:00–1:12 rock, 1:12–1:40 metal". */
export function timelineText(spans: readonly TimelineSpan[]): string {
  return spans.map((s) => `${clock(s.start)}–${clock(s.end)} ${s.label}`).join(", ");
}
