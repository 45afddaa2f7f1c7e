import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Bitmap, GLYPH_ASCENT, GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows, textWidth } from "../src/png.js";

const PRINTABLE = Array.from({ length: 126 - 32 + 1 }, (_, i) => String.fromCharCode(32 + i));
const INK: [number, number, number] = [0, 0, 0];

/** The ink of one glyph cell read back from a bitmap, as rows of bits. */
function readCell(img: Bitmap, x0: number, y0: number): number[] {
  const rows: number[] = [];
  for (let y = 0; y < GLYPH_HEIGHT; y++) {
    let bits = 0;
    for (let x = 0; x < GLYPH_WIDTH; x++)
      bits = (bits << 1) | (img.rgb[((y0 + y) * img.width + x0 + x) * 3] === 0 ? 1 : 0);
    rows.push(bits);
  }
  return rows;
}

describe("PNG font", () => {
  // Every printable ASCII character drawn once, 16 per line, into one bitmap.
  const perLine = 16;
  const img = new Bitmap(perLine * 6 + 2, Math.ceil(PRINTABLE.length / perLine) * (GLYPH_HEIGHT + 2) + 2);
  PRINTABLE.forEach((ch, i) => {
    img.text(1 + (i % perLine) * 6, 1 + Math.floor(i / perLine) * (GLYPH_HEIGHT + 2), ch, INK);
  });
  const cell = (i: number) =>
    readCell(img, 1 + (i % perLine) * 6, 1 + Math.floor(i / perLine) * (GLYPH_HEIGHT + 2));

  it("renders every printable ASCII character as its own glyph, never the '?' fallback", () => {
    const seen = new Map<string, string>();
    PRINTABLE.forEach((ch, i) => {
      const drawn = cell(i);
      expect(drawn, `glyph ${JSON.stringify(ch)}`).toEqual([...glyphRows(ch)]);
      if (ch !== " ")
        expect(
          drawn.some((r) => r !== 0),
          `glyph ${JSON.stringify(ch)} is blank`,
        ).toBe(true);
      if (ch !== "?")
        expect(drawn, `glyph ${JSON.stringify(ch)} falls back to "?"`).not.toEqual([...glyphRows("?")]);
      const key = drawn.join(",");
      expect(
        seen.get(key),
        `${JSON.stringify(ch)} looks like ${JSON.stringify(seen.get(key))}`,
      ).toBeUndefined();
      seen.set(key, ch);
    });
    expect(cell(0).every((r) => r === 0)).toBe(true); // space
  });

  it("draws descenders below the baseline, and only for the letters that have them", () => {
    const below = (ch: string) =>
      glyphRows(ch)
        .slice(GLYPH_ASCENT)
        .some((r) => r !== 0);
    for (const ch of "gjpqy,;_") expect(below(ch), ch).toBe(true);
    for (const ch of PRINTABLE.filter((c) => !"gjpqy,;_".includes(c))) expect(below(ch), ch).toBe(false);
  });

  it("titles a GTZAN file name without substitutes", () => {
    const title = "jazz.00001.wav reggae JQVXYZ";
    const t = new Bitmap(textWidth(title) + 2, GLYPH_HEIGHT + 2);
    t.text(1, 1, title, INK);
    [...title].forEach((ch, i) => {
      expect(readCell(t, 1 + i * 6, 1), ch).toEqual([...glyphRows(ch)]);
    });
  });

  it("draws characters outside printable ASCII as '?'", () => {
    expect(glyphRows("é")).toEqual(glyphRows("?"));
  });

  it("writes the glyph sheet as a valid PNG", () => {
    const png = img.toPng();
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join("")).toBe("PNG");
    // IDAT payload inflates to one filter byte plus RGB per row
    const idat = png.indexOf(0x49, 33); // 'I' of IDAT after the 8-byte signature and the IHDR chunk
    expect(idat).toBeGreaterThan(0);
    const len = new DataView(png.buffer, png.byteOffset + idat - 4, 4).getUint32(0);
    const raw = inflateSync(png.subarray(idat + 4, idat + 4 + len));
    expect(raw.length).toBe((img.width * 3 + 1) * img.height);
  });
});
