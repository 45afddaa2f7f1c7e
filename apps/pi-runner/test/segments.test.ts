/** Timeline arithmetic of classify --segments: grouping windows, merging runs, clock times. */
import { describe, expect, it } from "vitest";
import { clock, csvRow } from "../src/commands/format.js";
import { mergeTimeline, SegmentBuilder, timelineText } from "../src/commands/segments.js";

describe("SegmentBuilder", () => {
  it("averages whole groups of windows, closes a shorter last one, and keeps the overall mean", () => {
    const labels = ["a", "b"];
    const seen: number[] = [];
    const b = new SegmentBuilder(labels, 2, (s) => {
      seen.push(s.index);
    });
    const w = [
      [0.9, 0.1],
      [0.7, 0.3],
      [0.2, 0.8],
      [0.4, 0.6],
      [0.5, 0.5],
    ];
    for (const [i, p] of w.entries()) b.add(Float32Array.from(p), 3 * i, 3 * (i + 1));
    expect(seen).toEqual([0, 1]);
    b.end();
    expect(seen).toEqual([0, 1, 2]);
    expect(b.segments.map((s) => [s.start, s.end, s.label])).toEqual([
      [0, 6, "a"],
      [6, 12, "b"],
      [12, 15, "a"], // a tie goes to the first label
    ]);
    expect(b.segments[0]!.p).toBeCloseTo(0.8, 6);
    expect(b.segments[1]!.p).toBeCloseTo(0.7, 6);
    const all = b.overall()!;
    expect(all[0]).toBeCloseTo((0.9 + 0.7 + 0.2 + 0.4 + 0.5) / 5, 6);
    expect(b.windows).toBe(5);
    expect(new SegmentBuilder(labels, 1).overall()).toBeNull();
  });
});

describe("mergeTimeline", () => {
  it("merges runs of one label and writes them as m:ss spans", () => {
    const spans = mergeTimeline([
      { start: 0, end: 36, label: "rock" },
      { start: 36, end: 72.4, label: "rock" },
      { start: 72.4, end: 100, label: "metal" },
      { start: 100, end: 130, label: "rock" },
    ]);
    expect(spans).toEqual([
      { start: 0, end: 72.4, label: "rock" },
      { start: 72.4, end: 100, label: "metal" },
      { start: 100, end: 130, label: "rock" },
    ]);
    expect(timelineText(spans)).toBe("0:00–1:12 rock, 1:12–1:40 metal, 1:40–2:10 rock");
    expect(mergeTimeline([])).toEqual([]);
  });

  it("clock times from the second up to hours", () => {
    expect(clock(0)).toBe("0:00");
    expect(clock(59.999)).toBe("0:59");
    expect(clock(3 * 3600 + 62)).toBe("3:01:02");
  });

  it("CSV fields with commas, quotes and line breaks are quoted", () => {
    expect(csvRow(["a,b", 'say "x"', "l1\nl2", 3, undefined])).toBe('"a,b","say ""x""","l1\nl2",3,');
  });
});
