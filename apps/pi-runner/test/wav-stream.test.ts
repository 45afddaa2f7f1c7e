import { describe, expect, it } from "vitest";
import { WavStreamError, WavStreamParser } from "../src/wav-stream.js";

function wavHeader(opts: {
  rate: number;
  channels: number;
  bits: number;
  tag?: number;
  dataSize?: number;
  extra?: Uint8Array;
}) {
  const { rate, channels, bits, tag = 1, dataSize = 0xffffffff, extra } = opts;
  const extraLen = extra ? 8 + extra.length + (extra.length & 1) : 0; // chunks are padded to even length
  const b = new Uint8Array(44 + extraLen);
  const dv = new DataView(b.buffer);
  const put = (o: number, s: string) => {
    for (let i = 0; i < s.length; i++) b[o + i] = s.charCodeAt(i);
  };
  put(0, "RIFF");
  dv.setUint32(4, 0xffffffff, true);
  put(8, "WAVE");
  put(12, "fmt ");
  dv.setUint32(16, 16, true);
  dv.setUint16(20, tag, true);
  dv.setUint16(22, channels, true);
  dv.setUint32(24, rate, true);
  dv.setUint32(28, (rate * channels * bits) / 8, true);
  dv.setUint16(32, (channels * bits) / 8, true);
  dv.setUint16(34, bits, true);
  let o = 36;
  if (extra) {
    put(o, "LIST");
    dv.setUint32(o + 4, extra.length, true);
    b.set(extra, o + 8);
    o += 8 + extra.length + (extra.length & 1);
  }
  put(o, "data");
  dv.setUint32(o + 4, dataSize, true);
  return b;
}

function pcm16(samples: number[]): Uint8Array {
  const b = new Uint8Array(samples.length * 2);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < samples.length; i++) dv.setInt16(i * 2, samples[i]!, true);
  return b;
}

describe("WavStreamParser", () => {
  it("parses a header split across pushes and yields samples as they complete", () => {
    const bytes = new Uint8Array([
      ...wavHeader({ rate: 22050, channels: 1, bits: 16 }),
      ...pcm16([0, 16384, -32768, 32767]),
    ]);
    const p = new WavStreamParser();
    const got: number[] = [];
    for (let i = 0; i < bytes.length; i += 3) got.push(...p.push(bytes.subarray(i, i + 3)));
    expect(p.format).toEqual({ sampleRate: 22050, channels: 1, bitsPerSample: 16, encoding: "pcm" });
    expect(got).toEqual([0, 0.5, -1, 32767 / 32768]);
    expect(p.trailingBytes).toBe(0);
  });

  it("averages channels and skips unknown chunks before the data", () => {
    const bytes = new Uint8Array([
      ...wavHeader({ rate: 8000, channels: 2, bits: 16, extra: new Uint8Array(5) }),
      ...pcm16([16384, 0, -16384, -16384]),
    ]);
    const p = new WavStreamParser();
    expect([...p.push(bytes)]).toEqual([0.25, -0.5]);
  });

  it("reports a frame cut in half at the end of the stream", () => {
    const bytes = new Uint8Array([...wavHeader({ rate: 22050, channels: 1, bits: 16 }), ...pcm16([1000]), 7]);
    const p = new WavStreamParser();
    expect(p.push(bytes).length).toBe(1);
    expect(p.trailingBytes).toBe(1);
  });

  it("refuses non-WAV input and unsupported encodings with a message naming the source", () => {
    expect(() =>
      new WavStreamParser("stdin").push(new TextEncoder().encode("ID3\u0004 this is an mp3")),
    ).toThrow(/stdin: not a WAV stream/);
    expect(() =>
      new WavStreamParser().push(wavHeader({ rate: 22050, channels: 1, bits: 8, tag: 7 })),
    ).toThrow(WavStreamError);
    expect(() => new WavStreamParser().push(wavHeader({ rate: 5, channels: 1, bits: 16 }))).toThrow(
      /sample rate/,
    );
  });

  it("decodes 8-bit unsigned, 24-bit and float32 samples", () => {
    const u8 = new Uint8Array([...wavHeader({ rate: 8000, channels: 1, bits: 8 }), 0, 128, 255]);
    expect([...new WavStreamParser().push(u8)]).toEqual([-1, 0, 127 / 128]);
    const s24 = new Uint8Array([
      ...wavHeader({ rate: 8000, channels: 1, bits: 24 }),
      0x00,
      0x00,
      0x80,
      0xff,
      0xff,
      0x7f,
    ]);
    expect([...new WavStreamParser().push(s24)]).toEqual([-1, 8388607 / 8388608]);
    const f = new Uint8Array(8);
    new DataView(f.buffer).setFloat32(0, 0.25, true);
    new DataView(f.buffer).setFloat32(4, -0.75, true);
    const f32 = new Uint8Array([...wavHeader({ rate: 8000, channels: 1, bits: 32, tag: 3 }), ...f]);
    expect([...new WavStreamParser().push(f32)]).toEqual([0.25, -0.75]);
  });
});
