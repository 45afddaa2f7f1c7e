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

  it("refuses configs that cost enormous work or memory: nFft 2^20, 4096 bands at hop 1, hop 1 with nFft 65536", () => {
    const good = defaultMelConfig();
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...good, nFft: 2 ** 20, winLength: 2 ** 20 }, /MelConfig.nFft: expected an integer in \[2, 65536\]/],
      [{ ...good, nMels: 4096, hopLength: 1 }, /MelConfig.hopLength: .*90316800 feature values per second/],
      [
        { ...good, nMels: 4096, nFft: 65536, winLength: 65536 },
        /MelConfig.nMels: .*filterbank of 134221824 entries/,
      ],
      [
        { ...good, nFft: 65536, winLength: 65536, hopLength: 1, nMels: 8 },
        /MelConfig.hopLength: .*samples per second/,
      ],
    ];
    for (const [c, msg] of bad) expect(() => validateMelConfig(c)).toThrow(msg);
    // generous: 512 bands at hop 64, nFft 65536 with 128 bands, and the hop of 1 the fast-path tests use
    for (const ok of [
      { ...good, nMels: 512, hopLength: 64 },
      { ...good, nFft: 65536, winLength: 65536, hopLength: 16384 },
      { ...good, sampleRate: 44100, fMax: 22050, nFft: 4096, winLength: 4096, hopLength: 1 },
    ])
      expect(validateMelConfig(ok)).toEqual(ok);
  });
});
