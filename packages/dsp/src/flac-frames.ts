/**
 * Splits a native FLAC stream into frames as it arrives. A frame runs from one valid frame
 * header (sync code, legal fields, header CRC-8) to the next header that continues the stream
 * (same blocking strategy, sample rate, channel count and sample size, and the next frame or
 * sample number). A header whose number jumps ahead also starts a frame: the bytes before it hold
 * a damaged frame, which the decoder then rejects (CRC-16) and which is counted, so damage costs
 * the frames it touches instead of the rest of the file.
 */

export interface FlacFrameHeader {
  variableBlocks: boolean;
  /** Frame number (fixed blocking) or first sample number (variable blocking). */
  number: number;
  blockSize: number;
  /** Fields a stream keeps from frame to frame. */
  key: number;
}

let CRC8: Uint8Array | undefined;
function crc8(b: Uint8Array, from: number, to: number): number {
  if (!CRC8) {
    CRC8 = new Uint8Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 0x80 ? ((c << 1) ^ 0x07) & 0xff : (c << 1) & 0xff;
      CRC8[i] = c;
    }
  }
  let c = 0;
  for (let i = from; i < to; i++) c = CRC8[c ^ b[i]!]!;
  return c;
}

const BLOCK_SIZES = [0, 192, 576, 1152, 2304, 4608, -1, -2, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768];

/** The frame header at b[p..], null when it is not a valid one or does not fit in b. */
export function parseFlacFrameHeader(b: Uint8Array, p: number): FlacFrameHeader | null {
  if (p + 6 > b.length || b[p] !== 0xff || (b[p + 1]! & 0xfe) !== 0xf8) return null;
  const bs = b[p + 2]! >> 4;
  const sr = b[p + 2]! & 0x0f;
  const ch = b[p + 3]! >> 4;
  const ss = (b[p + 3]! >> 1) & 7;
  if (bs === 0 || sr === 15 || ch > 10 || ss === 3 || b[p + 3]! & 1) return null;
  // the frame or sample number, UTF-8 coded
  let q = p + 4;
  const lead = b[q]!;
  let extra = 0;
  let number = 0;
  if (lead < 0x80) number = lead;
  else {
    if (lead < 0xc0 || lead === 0xfe || lead === 0xff) return null;
    extra = lead >= 0xfc ? 5 : lead >= 0xf8 ? 4 : lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
    if (lead === 0xfe) extra = 6;
    number = lead & (0x3f >> extra);
    if (q + 1 + extra > b.length) return null;
    for (let i = 1; i <= extra; i++) {
      const c = b[q + i]!;
      if ((c & 0xc0) !== 0x80) return null;
      number = number * 64 + (c & 0x3f);
    }
  }
  q += 1 + extra;
  let blockSize = BLOCK_SIZES[bs]!;
  if (blockSize === -1) {
    if (q + 1 > b.length) return null;
    blockSize = b[q]! + 1;
    q += 1;
  } else if (blockSize === -2) {
    if (q + 2 > b.length) return null;
    blockSize = ((b[q]! << 8) | b[q + 1]!) + 1;
    q += 2;
  }
  if (sr === 12) q += 1;
  else if (sr === 13 || sr === 14) q += 2;
  if (q + 1 > b.length || crc8(b, p, q) !== b[q]) return null;
  const variableBlocks = (b[p + 1]! & 1) === 1;
  const channels = ch < 8 ? ch + 1 : 2;
  return { variableBlocks, number, blockSize, key: ((+variableBlocks * 16 + sr) * 16 + channels) * 8 + ss };
}

/** Largest frame the splitter waits for before it gives the bytes up as damaged. */
const MAX_FRAME_BYTES = 1 << 21;

export class FlacFrameSplitter {
  private buf = new Uint8Array(0);
  /** Start of the current frame in buf, or -1 before the first header. */
  private start = -1;
  private head: FlacFrameHeader | null = null;
  /** Where the search for the next header goes on. */
  private searchFrom = 0;
  private metaDone = false;
  private metaStarted = false;
  /** Bytes of a metadata block still to skip as they arrive (a cover picture is never buffered). */
  private skipLeft = 0;
  /** Stretches given up because no header continued the stream within MAX_FRAME_BYTES. */
  damagedFrames = 0;

  push(bytes: Uint8Array): Uint8Array[] {
    this.append(bytes);
    return this.split(false);
  }

  /** Header of the last frame handed out (by end(), the stream's last frame). */
  get lastHeader(): FlacFrameHeader | null {
    return this.head;
  }

  /** The last frame (everything after the last header). */
  end(): Uint8Array[] {
    const out = this.split(true);
    if (this.start >= 0 && this.start < this.buf.length) out.push(this.buf.subarray(this.start));
    this.start = this.buf.length;
    return out;
  }

  private append(bytes: Uint8Array): void {
    if (this.skipLeft > 0) {
      const n = Math.min(this.skipLeft, bytes.length);
      this.skipLeft -= n;
      bytes = bytes.subarray(n);
    }
    const keep = this.start >= 0 ? this.start : this.metaDone ? Math.max(0, this.searchFrom) : 0;
    const rest = this.buf.subarray(keep);
    const next = new Uint8Array(rest.length + bytes.length);
    next.set(rest, 0);
    next.set(bytes, rest.length);
    this.buf = next;
    this.searchFrom -= keep;
    if (this.start >= 0) this.start = 0;
  }

  /** Skips "fLaC" and the metadata blocks; false while they have not all arrived. */
  private skipMetadata(): boolean {
    let p = this.searchFrom;
    const b = this.buf;
    if (!this.metaStarted) {
      if (b.length < 4) return false;
      p = 4;
      this.metaStarted = true;
    }
    for (;;) {
      if (p + 4 > b.length) {
        this.searchFrom = p;
        return false;
      }
      const last = b[p]! & 0x80;
      const size = (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
      if (p + 4 + size > b.length) {
        // skip the block's body as it arrives; keep only what follows it
        this.skipLeft = p + 4 + size - b.length;
        this.buf = new Uint8Array(0);
        this.searchFrom = 0;
        this.metaStarted = true;
        if (last) this.metaDone = true;
        return false;
      }
      p += 4 + size;
      this.searchFrom = p;
      if (last) break;
    }
    this.metaDone = true;
    return true;
  }

  private split(ending: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (!this.metaDone && !this.skipMetadata()) return out;
    if (this.skipLeft > 0) return out;
    const b = this.buf;
    const from = this.start >= 0 ? Math.max(this.searchFrom, this.start + 2) : this.searchFrom;
    for (let p = from; p + 1 < b.length; p++) {
      if (b[p] !== 0xff || (b[p + 1]! & 0xfe) !== 0xf8) continue;
      if (p + 24 > b.length && !ending) {
        this.searchFrom = p; // the header may not have arrived whole
        return out;
      }
      const h = parseFlacFrameHeader(b, p);
      if (!h) continue;
      if (this.head === null) {
        this.begin(p, h);
        continue;
      }
      if (h.key !== this.head.key) continue;
      const step = this.head.variableBlocks ? this.head.blockSize : 1;
      const expected = this.head.number + step;
      if (h.number < expected) continue;
      out.push(b.subarray(this.start, p));
      this.begin(p, h);
    }
    // the last byte may be the first of a sync code
    this.searchFrom = this.start >= 0 ? Math.max(this.start + 2, b.length - 1) : Math.max(0, b.length - 1);
    if (this.start >= 0 && b.length - this.start > MAX_FRAME_BYTES) {
      // no header continues the stream within any frame's size: give the bytes up
      this.damagedFrames++;
      this.start = -1;
      this.head = null;
    }
    return out;
  }

  private begin(p: number, h: FlacFrameHeader): void {
    this.start = p;
    this.head = h;
  }
}
