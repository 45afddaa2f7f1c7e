/** Encodes channels as a 16-bit PCM WAV file (samples clipped to [-1, 1)). */
export function encodeWav(channels: Float32Array[], sampleRate: number): Uint8Array {
  const nch = channels.length;
  const n = channels[0]?.length ?? 0;
  const dataBytes = n * nch * 2;
  const out = new Uint8Array(44 + dataBytes);
  const v = new DataView(out.buffer);
  const str = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  str(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  str(8, "WAVE");
  str(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, nch, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * nch * 2, true);
  v.setUint16(32, nch * 2, true);
  v.setUint16(34, 16, true);
  str(36, "data");
  v.setUint32(40, dataBytes, true);
  let p = 44;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < nch; c++) {
      const s = Math.max(-32768, Math.min(32767, Math.round(channels[c]![i]! * 32768)));
      v.setInt16(p, s, true);
      p += 2;
    }
  return out;
}
