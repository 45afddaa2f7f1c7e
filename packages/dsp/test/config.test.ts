import { describe, expect, it } from "vitest";
import { defaultMelConfig, MelConfigError, validateMelConfig } from "../src/index.js";

describe("MelConfig", () => {
  it("is plain JSON that survives a round trip through a model file", () => {
    const c = defaultMelConfig({ nMels: 96, melScale: "htk", norm: null, topDb: null });
    const back = validateMelConfig(JSON.parse(JSON.stringify(c)));
    expect(back).toEqual(c);
  });

  it("fMax follows an overridden sample rate; undefined overrides keep defaults", () => {
    expect(defaultMelConfig({ sampleRate: 16000 }).fMax).toBe(8000);
    expect(defaultMelConfig({ nFft: 1024 }).winLength).toBe(1024);
    expect(defaultMelConfig({ nMels: undefined }).nMels).toBe(128);
  });

  it("rejects missing, unknown and out-of-range fields, naming them", () => {
    const good = defaultMelConfig();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...good, nFft: 0 }, /MelConfig.nFft/],
      [{ ...good, hopLength: 1.5 }, /MelConfig.hopLength/],
      [{ ...good, winLength: 4096 }, /MelConfig.winLength/],
      [{ ...good, fMin: 6000, fMax: 5000 }, /MelConfig.fMax: must be greater than fMin/],
      [{ ...good, melScale: "bark" }, /MelConfig.melScale/],
      [{ ...good, norm: "l2" }, /MelConfig.norm/],
      [{ ...good, amin: 0 }, /MelConfig.amin/],
      [{ ...good, topDb: -1 }, /MelConfig.topDb/],
      [{ ...good, power: Number.NaN }, /MelConfig.power/],
      [{ ...good, extra: 1 }, /MelConfig.extra: unknown field/],
      [Object.fromEntries(Object.entries(good).filter(([k]) => k !== "center")), /MelConfig.center: missing/],
    ];
    for (const [c, msg] of bad) expect(() => validateMelConfig(c)).toThrow(msg);
    expect(() => validateMelConfig(null)).toThrow(MelConfigError);
  });
});
