// Stand-alone WASI build of the engine: reads a .eam model and a crop, runs the same kernels as
// the host build (single thread, 128-bit SIMD, tile 4x8) and prints the class probabilities.
//
//   engine-wasi.wasm MODEL.eam [CROP.f32]
//
// CROP.f32 is raw little-endian float32 in the layout data[mel * frames + frame]; without it a
// deterministic pseudo-random crop (the host's randomCrop(n, 7)) is used. Paths are resolved
// against the preopened directories. Output: one line per class "label<TAB>probability", then
// "top<TAB>label".

import {
  errno,
  fd,
  fd_close,
  fd_filestat_get,
  fd_prestat_dir_name,
  fd_prestat_get,
  fd_read,


  lookupflags,
  oflags,
  path_open,
  prestat,
  filestat,

  rights,
} from "bindings/wasi_snapshot_preview1";
import { f32_gap, f32_maxpool, f32_pack_weights, f32_softmax, f32_vadd } from "../common";
import { f32_gemm_run } from "../gen/f32-gemm-wasmsimd";
import { f32_igemm_run } from "../gen/f32-igemm-wasmsimd";

const TILE = 4;

function fail(msg: string): void {
  process.stderr.write("engine-wasi: " + msg + "\n");
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Files

function openFile(path: string): fd {
  // Find the preopened directory that contains the path (or use the first one for relative paths).
  let dirFd: fd = 0;
  let rel = path;
  const pre = memory.data(8);
  for (let f: fd = 3; f < 64; f++) {
    if (fd_prestat_get(f, changetype<prestat>(pre)) != errno.SUCCESS) break;
    const len = load<u32>(pre, 4);
    const buf = new ArrayBuffer(<i32>len);
    fd_prestat_dir_name(f, changetype<usize>(buf), len);
    let name = String.UTF8.decode(buf);
    while (name.length > 1 && name.endsWith("/")) name = name.substring(0, name.length - 1);
    if (dirFd == 0 && !path.startsWith("/")) {
      dirFd = f;
      break;
    }
    if (path.startsWith(name + "/")) {
      dirFd = f;
      rel = path.substring(name.length + 1);
      break;
    }
    if (name == "/" && path.startsWith("/")) {
      dirFd = f;
      rel = path.substring(1);
      break;
    }
  }
  if (dirFd == 0) fail("no preopened directory gives access to " + path);
  const p = String.UTF8.encode(rel);
  const out = memory.data(4);
  const err = path_open(
    dirFd,
    lookupflags.SYMLINK_FOLLOW,
    changetype<usize>(p),
    <usize>p.byteLength,
    0 as oflags,
    rights.FD_READ | rights.FD_FILESTAT_GET,
    rights.FD_READ,
    0,
    out,
  );
  if (err != errno.SUCCESS) fail("cannot open " + path + " (errno " + err.toString() + ")");
  return load<u32>(out);
}

/** Reads a whole file into unmanaged memory; returns [pointer, length]. */
function readFile(path: string): StaticArray<usize> {
  const f = openFile(path);
  const st = new ArrayBuffer(64);
  if (fd_filestat_get(f, changetype<filestat>(st)) != errno.SUCCESS) fail("cannot stat " + path);
  const size = <usize>load<u64>(changetype<usize>(st), 32);
  const ptr = heap.alloc(size + 64);
  let done: usize = 0;
  const iov = memory.data(8);
  const nread = memory.data(4);
  while (done < size) {
    store<u32>(iov, <u32>(ptr + done));
    store<u32>(iov, <u32>(size - done), 4);
    if (fd_read(f, iov, 1, nread) != errno.SUCCESS) fail("read error in " + path);
    const n = load<u32>(nread);
    if (n == 0) fail("unexpected end of " + path);
    done += n;
  }
  fd_close(f);
  const r = new StaticArray<usize>(2);
  r[0] = ptr;
  r[1] = size;
  return r;
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE)

const CRC_TABLE = new StaticArray<u32>(256);
function crcInit(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    CRC_TABLE[n] = c;
  }
}
function crc32(ptr: usize, len: usize, crc: u32): u32 {
  let c = ~crc;
  for (let i: usize = 0; i < len; i++) c = unchecked(CRC_TABLE[(c ^ load<u8>(ptr + i)) & 0xff]) ^ (c >>> 8);
  return ~c;
}

// ---------------------------------------------------------------------------------------------
// Minimal JSON (objects, arrays, strings, numbers, true/false/null)

class JValue {
  kind: i32 = 0; // 0 null, 1 bool, 2 number, 3 string, 4 array, 5 object
  num: f64 = 0;
  str: string = "";
  arr: JValue[] = [];
  keys: string[] = [];
  vals: JValue[] = [];
  get(key: string): JValue | null {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return this.vals[i];
    return null;
  }
  req(key: string): JValue {
    const v = this.get(key);
    if (v === null) {
      fail("graph: missing field " + key);
      return new JValue();
    }
    return v;
  }
}

class JsonParser {
  pos: i32 = 0;
  constructor(public s: string) {}
  ws(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c == 32 || c == 9 || c == 10 || c == 13) this.pos++;
      else break;
    }
  }
  value(): JValue {
    this.ws();
    const c = this.s.charCodeAt(this.pos);
    const v = new JValue();
    if (c == 123) {
      v.kind = 5;
      this.pos++;
      this.ws();
      if (this.s.charCodeAt(this.pos) == 125) {
        this.pos++;
        return v;
      }
      while (true) {
        this.ws();
        const k = this.string();
        this.ws();
        this.pos++; // ':'
        v.keys.push(k);
        v.vals.push(this.value());
        this.ws();
        const d = this.s.charCodeAt(this.pos++);
        if (d == 125) break;
      }
    } else if (c == 91) {
      v.kind = 4;
      this.pos++;
      this.ws();
      if (this.s.charCodeAt(this.pos) == 93) {
        this.pos++;
        return v;
      }
      while (true) {
        v.arr.push(this.value());
        this.ws();
        const d = this.s.charCodeAt(this.pos++);
        if (d == 93) break;
      }
    } else if (c == 34) {
      v.kind = 3;
      v.str = this.string();
    } else if (c == 116) {
      v.kind = 1;
      v.num = 1;
      this.pos += 4;
    } else if (c == 102) {
      v.kind = 1;
      this.pos += 5;
    } else if (c == 110) {
      this.pos += 4;
    } else {
      v.kind = 2;
      const start = this.pos;
      while (this.pos < this.s.length) {
        const d = this.s.charCodeAt(this.pos);
        if ((d >= 48 && d <= 57) || d == 45 || d == 43 || d == 46 || d == 101 || d == 69) this.pos++;
        else break;
      }
      v.num = parseFloat(this.s.substring(start, this.pos));
    }
    return v;
  }
  string(): string {
    this.pos++; // opening quote
    let out = "";
    let start = this.pos;
    while (true) {
      const c = this.s.charCodeAt(this.pos);
      if (c == 34) break;
      if (c == 92) {
        out += this.s.substring(start, this.pos);
        const e = this.s.charCodeAt(this.pos + 1);
        if (e == 117) {
          out += String.fromCharCode(<i32>parseInt(this.s.substring(this.pos + 2, this.pos + 6), 16));
          this.pos += 6;
        } else {
          out += e == 110 ? "\n" : e == 116 ? "\t" : String.fromCharCode(e);
          this.pos += 2;
        }
        start = this.pos;
        continue;
      }
      this.pos++;
    }
    out += this.s.substring(start, this.pos);
    this.pos++;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Model file

class TensorRef {
  constructor(
    public name: string,
    public dtype: u32,
    public shape: i32[],
    public ptr: usize,
    public nbytes: usize,
  ) {}
}

let filePtr: usize = 0;
let fileLen: usize = 0;
let rp: usize = 0;
let headerEnd: usize = 0;

function need(n: usize, what: string): void {
  if (rp + n > headerEnd) fail("invalid .eam file (header): " + what + " runs past the header");
}
function rdU32(what: string): u32 {
  need(4, what);
  const v = load<u32>(filePtr + rp);
  rp += 4;
  return v;
}
function rdU64(what: string): u64 {
  need(8, what);
  const v = load<u64>(filePtr + rp);
  rp += 8;
  return v;
}
function rdStr(what: string): string {
  const n = <usize>rdU64(what);
  need(n, what);
  const s = String.UTF8.decodeUnsafe(filePtr + rp, n);
  rp += n;
  return s;
}
function skipScalar(t: u32): void {
  if (t == 0 || t == 1 || t == 7) rp += 1;
  else if (t == 2 || t == 3) rp += 2;
  else if (t == 4 || t == 5 || t == 6) rp += 4;
  else if (t == 10 || t == 11 || t == 12) rp += 8;
  else if (t == 8 || t == 13) rdStr("string");
  else fail("invalid .eam file (metadata): unknown value type " + t.toString());
}

// ---------------------------------------------------------------------------------------------
// Execution

class Act {
  constructor(
    public ptr: usize,
    public h: i32,
    public w: i32,
    public c: i32,
  ) {}
  get size(): i32 {
    return this.h * this.w * this.c;
  }
}

function samePad(inSize: i32, k: i32, s: i32, same: bool): StaticArray<i32> {
  const r = new StaticArray<i32>(2);
  if (same) {
    const out = (inSize + s - 1) / s;
    const total = max(0, (out - 1) * s + k - inSize);
    r[0] = out;
    r[1] = total / 2;
  } else {
    r[0] = (inSize - k) / s + 1;
    r[1] = 0;
  }
  return r;
}

function intPair(v: JValue, i: i32): i32 {
  return <i32>v.arr[i].num;
}

function main(): void {
  const argv = process.argv;
  if (argv.length < 2) fail("usage: engine-wasi MODEL.eam [CROP.f32]");
  crcInit();
  const file = readFile(argv[1]);
  filePtr = file[0];
  fileLen = file[1];
  if (fileLen < 64) fail("invalid .eam file (file): truncated");
  if (load<u32>(filePtr) != 0x464d4145) fail("invalid .eam file (magic): not an .eam model file");
  const major = load<u16>(filePtr, 4);
  if (major > 1) fail("invalid .eam file (version): format version " + major.toString() + " is newer than this reader");
  const kvCount = load<u32>(filePtr, 16);
  const tensorCount = load<u32>(filePtr, 20);
  headerEnd = <usize>load<u64>(filePtr, 24);
  const dataOffset = <usize>load<u64>(filePtr, 32);
  const declared = <usize>load<u64>(filePtr, 48);
  if (declared != fileLen) fail("invalid .eam file (file): size " + fileLen.toString() + ", header declares " + declared.toString());
  if (headerEnd > fileLen || dataOffset > fileLen) fail("invalid .eam file (header): bad lengths");
  const hc = crc32(filePtr + 64, headerEnd - 64, crc32(filePtr, 60, 0));
  if (hc != load<u32>(filePtr, 60)) fail("invalid .eam file (header): header checksum mismatch");

  rp = 64;
  let graphJson = "";
  const labels: string[] = [];
  for (let i: u32 = 0; i < kvCount; i++) {
    const key = rdStr("key");
    const t = rdU32("type");
    if (t == 9) {
      const et = rdU32("element type");
      const n = <i32>rdU64("array length");
      for (let j = 0; j < n; j++) {
        if (key == "eam.labels" && et == 8) labels.push(rdStr("label"));
        else skipScalar(et);
      }
    } else if (key == "eam.graph" && t == 13) {
      graphJson = rdStr("graph");
    } else {
      skipScalar(t);
    }
  }
  if (graphJson.length == 0) fail("invalid .eam file (metadata): eam.graph missing");
  const tensors = new Map<string, TensorRef>();
  for (let i: u32 = 0; i < tensorCount; i++) {
    const name = rdStr("tensor name");
    const dtype = rdU32("dtype");
    const ndim = rdU32("rank");
    const shape: i32[] = [];
    for (let d: u32 = 0; d < ndim; d++) shape.push(<i32>rdU64("dim"));
    const off = <usize>rdU64("offset");
    const nbytes = <usize>rdU64("size");
    const crc = rdU32("crc");
    const q = rdU32("quant");
    if (q != 0) {
      rdU32("axis");
      const cnt = <usize>rdU64("count");
      rp += cnt * 8;
    }
    if (dataOffset + off + nbytes > fileLen) fail("invalid .eam file (tensors): " + name + " outside the file");
    const ptr = filePtr + dataOffset + off;
    if (crc32(ptr, nbytes, 0) != crc) fail("invalid .eam file (data): tensor " + name + ": checksum mismatch");
    tensors.set(name, new TensorRef(name, dtype, shape, ptr, nbytes));
  }

  const graph = new JsonParser(graphJson).value();
  const inShape = graph.req("inputShape");
  const input = new Act(0, intPair(inShape, 0), intPair(inShape, 1), intPair(inShape, 2));
  input.ptr = heap.alloc(<usize>input.size * 4 + 64);
  if (argv.length >= 3) {
    const crop = readFile(argv[2]);
    if (crop[1] != <usize>input.size * 4)
      fail("crop has " + (crop[1] / 4).toString() + " values, the model expects " + input.size.toString());
    memory.copy(input.ptr, crop[0], crop[1]);
  } else {
    // mulberry32(7), the host's randomCrop(n, 7).
    let a: u32 = 7;
    for (let i = 0; i < input.size; i++) {
      a += 0x6d2b79f5;
      let t = a;
      t = (t ^ (t >>> 15)) * (t | 1);
      t ^= t + (t ^ (t >>> 7)) * (t | 61);
      const r = <f64>(t ^ (t >>> 14)) / 4294967296.0;
      store<f32>(input.ptr + (<usize>i << 2), <f32>(r * 2 - 1));
    }
  }
  const zero = heap.alloc(65536);
  memory.fill(zero, 0, 65536);

  const env = new Map<string, Act>();
  env.set(graph.req("input").str, input);
  const layers = graph.req("layers").arr;
  for (let li = 0; li < layers.length; li++) {
    const l = layers[li];
    const op = l.req("op").str;
    const name = l.req("name").str;
    if (op == "conv") {
      const x = env.get(l.req("input").str);
      const k = l.req("kernel");
      const s = l.req("stride");
      const same = l.req("padding").str == "same";
      const kh = intPair(k, 0), kw = intPair(k, 1), sh = intPair(s, 0), sw = intPair(s, 1);
      const cout = <i32>l.req("filters").num;
      const ph = samePad(x.h, kh, sh, same);
      const pw = samePad(x.w, kw, sw, same);
      const wt = tensors.get(name + ".weight");
      const bt = tensors.get(name + ".bias");
      if (wt.dtype != 0 || wt.nbytes != <usize>(kh * kw * x.c * cout) * 4) fail("tensor " + wt.name + ": wrong dtype or shape");
      const K = kh * kw * x.c;
      const packed = heap.alloc(<usize>((cout + 7) >> 3) * <usize>(K + 1) * 32);
      f32_pack_weights(K, cout, wt.ptr, bt.ptr, packed);
      const y = new Act(0, ph[0], pw[0], cout);
      y.ptr = heap.alloc(<usize>y.size * 4 + 64);
      const M = y.h * y.w;
      const relu = l.req("relu").num != 0 ? 1 : 0;
      if (kh == 1 && kw == 1 && sh == 1 && sw == 1) {
        f32_gemm_run(TILE, 0, M, 0, cout, x.c, x.ptr, <usize>x.c * 4, packed, y.ptr, <usize>cout * 4, relu);
      } else {
        const ks = kh * kw;
        const ind = heap.alloc(<usize>M * <usize>ks * 4);
        let o = ind;
        for (let oy = 0; oy < y.h; oy++)
          for (let ox = 0; ox < y.w; ox++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++) {
                const iy = oy * sh - ph[1] + ky;
                const ix = ox * sw - pw[1] + kx;
                const inside = iy >= 0 && iy < x.h && ix >= 0 && ix < x.w;
                store<u32>(o, inside ? <u32>(x.ptr + <usize>((iy * x.w + ix) * x.c) * 4) : <u32>zero);
                o += 4;
              }
        f32_igemm_run(TILE, 0, M, 0, cout, x.c, ks, ind, packed, y.ptr, <usize>cout * 4, relu);
        heap.free(ind);
      }
      heap.free(packed);
      env.set(name, y);
    } else if (op == "maxpool") {
      const x = env.get(l.req("input").str);
      const k = l.req("pool");
      const s = l.req("stride");
      const same = l.req("padding").str == "same";
      const kh = intPair(k, 0), kw = intPair(k, 1), sh = intPair(s, 0), sw = intPair(s, 1);
      const ph = samePad(x.h, kh, sh, same);
      const pw = samePad(x.w, kw, sw, same);
      const y = new Act(0, ph[0], pw[0], x.c);
      y.ptr = heap.alloc(<usize>y.size * 4 + 64);
      f32_maxpool(x.h, x.w, x.c, y.w, kh, kw, sh, sw, ph[1], pw[1], x.ptr, y.ptr, 0, y.h * y.w);
      env.set(name, y);
    } else if (op == "add") {
      const ins = l.req("inputs");
      const a = env.get(ins.arr[0].str);
      const b = env.get(ins.arr[1].str);
      const y = new Act(0, a.h, a.w, a.c);
      y.ptr = heap.alloc(<usize>y.size * 4 + 64);
      f32_vadd(0, y.size, a.ptr, b.ptr, y.ptr, l.req("relu").num != 0 ? 1 : 0);
      env.set(name, y);
    } else if (op == "gap") {
      const x = env.get(l.req("input").str);
      const y = new Act(0, 1, 1, x.c);
      y.ptr = heap.alloc(<usize>x.c * 4 + 64);
      f32_gap(x.h * x.w, x.c, x.ptr, y.ptr, 0, x.c);
      env.set(name, y);
    } else if (op == "dropout") {
      env.set(name, env.get(l.req("input").str));
    } else if (op == "dense") {
      const x = env.get(l.req("input").str);
      const units = <i32>l.req("units").num;
      const wt = tensors.get(name + ".weight");
      const bt = tensors.get(name + ".bias");
      const packed = heap.alloc(<usize>((units + 7) >> 3) * <usize>(x.size + 1) * 32);
      f32_pack_weights(x.size, units, wt.ptr, bt.ptr, packed);
      const y = new Act(0, 1, 1, units);
      y.ptr = heap.alloc(<usize>units * 4 + 64);
      f32_gemm_run(TILE, 0, 1, 0, units, x.size, x.ptr, <usize>x.size * 4, packed, y.ptr, <usize>units * 4, 0);
      heap.free(packed);
      env.set(name, y);
    } else if (op == "softmax") {
      const x = env.get(l.req("input").str);
      const y = new Act(0, x.h, x.w, x.c);
      y.ptr = heap.alloc(<usize>y.size * 4 + 64);
      f32_softmax(x.size, x.ptr, y.ptr);
      env.set(name, y);
    } else {
      fail("invalid .eam file (graph): unsupported op " + op);
    }
  }
  const out = env.get(graph.req("output").str);
  let best = 0;
  for (let i = 0; i < out.size; i++) {
    const p = load<f32>(out.ptr + (<usize>i << 2));
    if (p > load<f32>(out.ptr + (<usize>best << 2))) best = i;
    const label = i < labels.length ? labels[i] : i.toString();
    console.log(label + "\t" + (<f64>p).toString());
  }
  console.log("top\t" + (best < labels.length ? labels[best] : best.toString()));
}

main();
