import { describe, expect, it } from "vitest";
import { classificationReport, confusionSvg, epochTicks, learningCurveSvg } from "../src/metrics.js";

describe("learning-curve.svg", () => {
  it("labels epochs with round ticks, the first and the last", () => {
    expect(epochTicks(1)).toEqual([1]);
    expect(epochTicks(2)).toEqual([1, 2]);
    expect(epochTicks(20)).toEqual([1, 5, 10, 15, 20]);
    expect(epochTicks(24)).toEqual([1, 5, 10, 15, 20, 24]);
    for (let n = 2; n <= 300; n++) {
      const t = epochTicks(n);
      expect(t[0]).toBe(1);
      expect(t.at(-1)).toBe(n);
      expect(t.length).toBeLessThanOrEqual(10);
      for (let i = 1; i < t.length; i++) expect(t[i]!).toBeGreaterThan(t[i - 1]!);
    }
  });

  it("draws every series it lists and lists only series with values", () => {
    const epochs = [1, 2, 3];
    const svg = learningCurveSvg(
      epochs,
      [{ name: "train loss", color: "#d62728", values: [2, 1.5, 1] }],
      [
        { name: "train crop acc", color: "#1f77b4", values: [0.2, 0.4, 0.6] },
        { name: "val clip acc", color: "#2ca02c", values: [null, 0.5, null] },
        { name: "test clip acc", color: "#ff7f0e", values: [null, null, null] },
      ],
      "run <1>",
    );
    expect(svg).toContain(">run &lt;1&gt;</text>");
    expect(svg).not.toContain("test clip acc");
    for (const [name, color] of [
      ["train loss", "#d62728"],
      ["train crop acc", "#1f77b4"],
      ["val clip acc", "#2ca02c"],
    ]) {
      expect(svg).toContain(`>${name}</text>`);
      expect(svg).toMatch(new RegExp(`<circle [^>]*fill="${color}"`));
    }
    // the epoch numbers are on the axis of both panels
    for (const e of ["1", "2", "3"])
      expect(svg.match(new RegExp(`font-size="10">${e}</text>`, "g"))).toHaveLength(2);
  });
});

describe("confusion.svg", () => {
  const labels = ["synthetic-blues", "synthetic-classical", "synthetic-reggae-and-long-name"];
  const r = classificationReport([0, 1, 2, 2], [0, 2, 2, 1], labels);
  const svg = confusionSvg(r, labels, "test clips (n=4) & more");
  const width = Number(/width="(\d+)"/.exec(svg)![1]);

  it("is wide enough for the last column label, rotated by -60 degrees", () => {
    const last = [...svg.matchAll(/translate\(([\d.]+),([\d.]+)\) rotate\(-60\)[^>]*>([^<]*)</g)].at(-1)!;
    const reach = Number(last[1]) + last[3]!.length * 11 * 0.5 * Math.cos(Math.PI / 3) * 1.2;
    expect(last[3]).toBe(labels[2]);
    expect(width).toBeGreaterThan(reach);
    const top = Number(last[2]);
    expect(top - last[3]!.length * 11 * 0.55 * Math.sin(Math.PI / 3)).toBeGreaterThan(20); // below the title
  });

  it("carries its title", () => {
    expect(svg).toContain(">test clips (n=4) &amp; more</text>");
  });

  it("has a colour scale from 0 to 100 % of the true class's clips", () => {
    expect(svg).toContain("<linearGradient");
    expect(svg).toContain('fill="url(#share)"');
    expect(svg).toContain(">0 %</text>");
    expect(svg).toContain(">100 %</text>");
  });
});
