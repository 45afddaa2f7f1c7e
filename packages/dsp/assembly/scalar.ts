// Scalar build of the kernel in simd.ts (same exports and memory layout), for engines
// without WebAssembly SIMD. The N/2-point complex FFT is a plain radix-4/2 Stockham FFT.

let N: i32 = 0;
let H: i32 = 0;
let win: usize = 0;
let twR: usize = 0; // W_N^k, k < N: re[N] then im[N]
let aRe: usize = 0;
let aIm: usize = 0;
let bRe: usize = 0;
let bIm: usize = 0;
let zRe: usize = 0;
let zIm: usize = 0;
let pw: usize = 0;
let nMel: i32 = 0;
let melStart: usize = 0;
let melLen: usize = 0;
let melOff: usize = 0;
let melW: usize = 0;
let melTmp: usize = 0;

export function heapBase(): usize {
  return __heap_base;
}

export function isSimd(): i32 {
  return 0;
}

export function configure(
  n: i32,
  window: usize,
  _tM: usize,
  _tC: usize,
  tR: usize,
  work: usize,
  nMels: i32,
  mStart: usize,
  mLen: usize,
  mOff: usize,
  mW: usize,
  mTmp: usize,
): void {
  N = n;
  H = n >> 1;
  win = window;
  twR = tR;
  const buf = <usize>H << 2;
  aRe = work;
  aIm = aRe + buf;
  bRe = aIm + buf;
  bIm = bRe + buf;
  zRe = bIm + buf;
  zIm = zRe + ((<usize>H + 4) << 2);
  pw = zIm + ((<usize>H + 4) << 2);
  nMel = nMels;
  melStart = mStart;
  melLen = mLen;
  melOff = mOff;
  melW = mW;
  melTmp = mTmp;
}

export function workBytes(n: i32): i32 {
  return 4 * (n >> 1) * 4 + 3 * ((n >> 1) + 4) * 4;
}

@inline function twRe(j: usize): f32 {
  return load<f32>(twR + (j << 2));
}
@inline function twIm(j: usize): f32 {
  return load<f32>(twR + ((<usize>N + j) << 2));
}

function complexHalf(src: usize, windowed: bool): void {
  for (let i: usize = 0; i < <usize>H; i++) {
    let re = load<f32>(src + (i << 3));
    let im = load<f32>(src + (i << 3) + 4);
    if (windowed) {
      re *= load<f32>(win + (i << 3));
      im *= load<f32>(win + (i << 3) + 4);
    }
    store<f32>(aRe + (i << 2), re);
    store<f32>(aIm + (i << 2), im);
  }
  let sR = aRe;
  let sI = aIm;
  let dR = bRe;
  let dI = bIm;
  let n = H;
  let s = 1;
  while (n >= 4) {
    const m = n >> 2;
    const stride = <usize>(N / n); // W_n^p = W_N^(p * N / n)
    for (let p = 0; p < m; p++) {
      const i1 = <usize>p * stride;
      const w1r = twRe(i1);
      const w1i = twIm(i1);
      const w2r = twRe(2 * i1);
      const w2i = twIm(2 * i1);
      const w3r = twRe(3 * i1);
      const w3i = twIm(3 * i1);
      for (let q = 0; q < s; q++) {
        const ia = <usize>(q + s * p) << 2;
        const ib = <usize>(q + s * (p + m)) << 2;
        const ic = <usize>(q + s * (p + 2 * m)) << 2;
        const id = <usize>(q + s * (p + 3 * m)) << 2;
        const ar = load<f32>(sR + ia);
        const ai = load<f32>(sI + ia);
        const br = load<f32>(sR + ib);
        const bi = load<f32>(sI + ib);
        const cr = load<f32>(sR + ic);
        const ci = load<f32>(sI + ic);
        const dr = load<f32>(sR + id);
        const di = load<f32>(sI + id);
        const apcR = ar + cr;
        const apcI = ai + ci;
        const amcR = ar - cr;
        const amcI = ai - ci;
        const bpdR = br + dr;
        const bpdI = bi + di;
        const bmdR = br - dr;
        const bmdI = bi - di;
        const t1R = amcR + bmdI;
        const t1I = amcI - bmdR;
        const t2R = apcR - bpdR;
        const t2I = apcI - bpdI;
        const t3R = amcR - bmdI;
        const t3I = amcI + bmdR;
        const o0 = <usize>(q + s * 4 * p) << 2;
        const o1 = o0 + (<usize>s << 2);
        const o2 = o1 + (<usize>s << 2);
        const o3 = o2 + (<usize>s << 2);
        store<f32>(dR + o0, apcR + bpdR);
        store<f32>(dI + o0, apcI + bpdI);
        store<f32>(dR + o1, w1r * t1R - w1i * t1I);
        store<f32>(dI + o1, w1r * t1I + w1i * t1R);
        store<f32>(dR + o2, w2r * t2R - w2i * t2I);
        store<f32>(dI + o2, w2r * t2I + w2i * t2R);
        store<f32>(dR + o3, w3r * t3R - w3i * t3I);
        store<f32>(dI + o3, w3r * t3I + w3i * t3R);
      }
    }
    n = m;
    s <<= 2;
    let t = sR;
    sR = dR;
    dR = t;
    t = sI;
    sI = dI;
    dI = t;
  }
  if (n == 2) {
    for (let q = 0; q < s; q++) {
      const ia = <usize>q << 2;
      const ib = <usize>(q + s) << 2;
      const ar = load<f32>(sR + ia);
      const ai = load<f32>(sI + ia);
      const br = load<f32>(sR + ib);
      const bi = load<f32>(sI + ib);
      store<f32>(dR + ia, ar + br);
      store<f32>(dI + ia, ai + bi);
      store<f32>(dR + ib, ar - br);
      store<f32>(dI + ib, ai - bi);
    }
    sR = dR;
    sI = dI;
  }
  memory.copy(zRe, sR, <usize>H << 2);
  memory.copy(zIm, sI, <usize>H << 2);
  store<f32>(zRe + (<usize>H << 2), load<f32>(zRe));
  store<f32>(zIm + (<usize>H << 2), load<f32>(zIm));
}

// X[k] for k < H from Z (split step); returns via globals to avoid allocation.
let xr: f32 = 0;
let xi: f32 = 0;
@inline function split(k: usize): void {
  const zr = load<f32>(zRe + (k << 2));
  const zi = load<f32>(zIm + (k << 2));
  const mr = load<f32>(zRe + ((<usize>H - k) << 2));
  const mi = load<f32>(zIm + ((<usize>H - k) << 2));
  const eR: f32 = 0.5 * (zr + mr);
  const eI: f32 = 0.5 * (zi - mi);
  const oR: f32 = 0.5 * (zi + mi);
  const oI: f32 = 0.5 * (mr - zr);
  const wr = twRe(k);
  const wi = twIm(k);
  xr = eR + (wr * oR - wi * oI);
  xi = eI + (wr * oI + wi * oR);
}

export function rfft(src: usize, out: usize): void {
  complexHalf(src, false);
  for (let k: usize = 0; k < <usize>H; k++) {
    split(k);
    store<f32>(out + (k << 3), xr);
    store<f32>(out + (k << 3) + 4, xi);
  }
  store<f32>(out + (<usize>N << 2), load<f32>(zRe) - load<f32>(zIm));
  store<f32>(out + (<usize>N << 2) + 4, 0);
}

@inline function dbOf(v: f32, amin: f32, refDb: f32): f32 {
  return <f32>(10.0 * Math.log10(<f64>Mathf.max(v, amin))) - refDb;
}

export function melFrames(
  sig: usize,
  nFrames: i32,
  hop: i32,
  out: usize,
  outStride: i32,
  magnitude: i32,
  mode: i32,
  amin: f32,
  refDb: f32,
): void {
  const rowBytes = <usize>outStride << 2;
  for (let t: i32 = 0; t < nFrames; t++) {
    complexHalf(sig + ((<usize>t * <usize>hop) << 2), true);
    for (let k: usize = 0; k < <usize>H; k++) {
      split(k);
      const p = xr * xr + xi * xi;
      store<f32>(pw + (k << 2), magnitude ? Mathf.sqrt(p) : p);
    }
    const last = load<f32>(zRe) - load<f32>(zIm);
    store<f32>(pw + (<usize>H << 2), magnitude ? Mathf.abs(last) : last * last);
    const col = out + (<usize>t << 2);
    for (let m: i32 = 0; m < nMel; m++) {
      const s = <usize>load<i32>(melStart + (<usize>m << 2));
      const len = load<i32>(melLen + (<usize>m << 2));
      const off = <usize>load<i32>(melOff + (<usize>m << 2));
      let sum: f32 = 0;
      for (let j = 0; j < len; j++)
        sum += load<f32>(pw + ((s + <usize>j) << 2)) * load<f32>(melW + ((off + <usize>j) << 2));
      store<f32>(col + <usize>m * rowBytes, mode == 1 ? dbOf(sum, amin, refDb) : sum);
    }
  }
}

export function toDb(ptr: usize, n: i32, amin: f32, refDb: f32): void {
  for (let i = 0; i < n; i++) {
    const p = ptr + (<usize>i << 2);
    store<f32>(p, dbOf(load<f32>(p), amin, refDb));
  }
}

export function clampTopDb(ptr: usize, n: i32, topDb: f32): f32 {
  let best: f32 = -Infinity;
  for (let i = 0; i < n; i++) best = Mathf.max(best, load<f32>(ptr + (<usize>i << 2)));
  const floor = best - topDb;
  for (let i = 0; i < n; i++) {
    const p = ptr + (<usize>i << 2);
    if (load<f32>(p) < floor) store<f32>(p, floor);
  }
  return best;
}

export function firstNonFinite(ptr: usize, n: i32): i32 {
  for (let i = 0; i < n; i++) {
    const v = load<f32>(ptr + (<usize>i << 2));
    if (!(Mathf.abs(v) < Infinity)) return i;
  }
  return -1;
}

// Overlap-save filtering of two real blocks at once; the same steps as simd.ts's correlatePair.
export function correlatePair(
  raw: usize,
  bOffset: i32,
  src: usize,
  spec: usize,
  out: usize,
  count: i32,
  step: i32,
): void {
  const rb = raw + (<usize>bOffset << 2);
  for (let i: usize = 0; i < <usize>H; i++) {
    store<f32>(src + (i << 3), load<f32>(raw + (i << 2)));
    store<f32>(src + (i << 3) + 4, load<f32>(rb + (i << 2)));
  }
  complexHalf(src, false);
  const specIm = spec + (<usize>H << 2);
  for (let k: usize = 0; k < <usize>H; k++) {
    const zr = load<f32>(zRe + (k << 2));
    const zi = load<f32>(zIm + (k << 2));
    const cr = load<f32>(spec + (k << 2));
    const ci = load<f32>(specIm + (k << 2));
    store<f32>(src + (k << 3), zr * cr - zi * ci);
    store<f32>(src + (k << 3) + 4, -(zr * ci + zi * cr));
  }
  complexHalf(src, false);
  const outB = out + (<usize>count << 2);
  for (let j = 0; j < count; j++) {
    const at = <usize>(j * step) << 2;
    store<f32>(out + (<usize>j << 2), load<f32>(zRe + at));
    store<f32>(outB + (<usize>j << 2), -load<f32>(zIm + at));
  }
}

export { polyphase, polyphase64, polyphaseInterp, polyphaseInterp64 } from "./resample-scalar";
