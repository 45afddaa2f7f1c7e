import { describe, expect, it } from "vitest";
import { formatDuration, formatRate, ProgressBar } from "../src/index.js";

describe("formatDuration", () => {
  it("never shows 60 in a lower unit", () => {
    expect(formatDuration(0)).toBe("0.0s");
    expect(formatDuration(4.24)).toBe("4.2s");
    expect(formatDuration(9.96)).toBe("10s");
    expect(formatDuration(59.4)).toBe("59s");
    expect(formatDuration(59.6)).toBe("1m00s");
    expect(formatDuration(179.6)).toBe("3m00s");
    expect(formatDuration(125)).toBe("2m05s");
    expect(formatDuration(3599.6)).toBe("1h00m");
    expect(formatDuration(3600 + 59.7 * 60)).toBe("2h00m");
    expect(formatDuration(Number.NaN)).toBe("--");
    expect(formatDuration(-1)).toBe("--");
    for (let s = 0; s < 8000; s += 0.37) expect(formatDuration(s)).not.toMatch(/(^|[hm])60[ms]/);
  });
});

describe("formatRate", () => {
  it("uses per-second or seconds-per-unit", () => {
    expect(formatRate(12.34, "crop")).toBe("12.3 crop/s");
    expect(formatRate(0.4, "step")).toBe("2.5 s/step");
    expect(formatRate(250, "crop")).toBe("250 crop/s");
    expect(formatRate(0, "step")).toBe("-- step/s");
  });
});

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 200, write: (s: string) => out.push(s) } };
}

describe("ProgressBar", () => {
  it("draws rate and ETA on a terminal", () => {
    let t = 0;
    const f = fakeStream(true);
    const bar = new ProgressBar({
      title: "epoch 1/3",
      total: 10,
      unit: "step",
      stream: f.stream,
      now: () => t,
    });
    t = 2000;
    bar.update(4, "loss 1.50");
    expect(f.out.at(-1)).toBe(
      "\repoch 1/3 [##########--------------] 4/10 2.0 step/s ETA 3.0s loss 1.50\x1b[K",
    );
    t = 2050;
    bar.tick();
    expect(f.out).toHaveLength(1); // redraws are throttled
    t = 5000;
    bar.update(10);
    expect(f.out.at(-1)).toContain("10/10");
    bar.finish("epoch 1/3 done");
    expect(f.out.slice(-2)).toEqual(["\r\x1b[K", "epoch 1/3 done (5.0s)\n"]);
  });

  it("draws nothing when not a terminal, but prints the summary", () => {
    const f = fakeStream(false);
    const bar = new ProgressBar({ title: "x", total: 3, stream: f.stream });
    bar.tick();
    bar.tick();
    bar.finish("x: 3 done");
    expect(f.out).toHaveLength(1);
    expect(f.out[0]).toMatch(/^x: 3 done \(\d\.\ds\)\n$/);
  });

  it("prints nothing at all with --quiet", () => {
    const f = fakeStream(true);
    const bar = new ProgressBar({ title: "x", total: 3, stream: f.stream, quiet: true });
    bar.tick();
    bar.finish("done");
    expect(f.out).toEqual([]);
  });
});
