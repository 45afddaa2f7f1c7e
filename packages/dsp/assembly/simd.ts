// f32 real FFT and log-Mel frame kernel, 128-bit SIMD.
//
// A real N-point FFT is computed as an N/2-point complex FFT of z[n] = x[2n] + i x[2n+1]
// followed by the usual split step. The N/2-point complex FFT is split four ways by
// decimation in time: lane l of a v128 holds the sub-sequence z[4m + l], so one radix-4/2
// Stockham FFT of M = N/8 points runs on all four sub-sequences at once with no shuffles,
// and a final radix-4 pass (after a 4x4 transpose) combines them. Loading the lanes is a
// plain even/odd deinterleave of consecutive input samples.
//
// The host lays out all tables and buffers in linear memory and passes pointers to configure().

let N: i32 = 0; // real FFT size, power of two >= 32
let H: i32 = 0; // N / 2
let M: i32 = 0; // N / 8, points per lane
let win: usize = 0; // window, N f32
let twM: usize = 0; // W_M^j, j < M: per j a splatted re v128 then a splatted im v128
let twC: usize = 0; // lanes l = W_H^(l k), k < M: re v128[M] then im v128[M]
let twR: usize = 0; // W_N^k, k < N: re[N] then im[N]
let aRe: usize = 0;
let aIm: usize = 0;
let bRe: usize = 0;
let bIm: usize = 0;
let zRe: usize = 0; // H + 4 f32
let zIm: usize = 0;
let pw: usize = 0; // H + 4 f32
let nMel: i32 = 0;
let melStart: usize = 0; // i32[nMel]
let melLen: usize = 0; // i32[nMel]
let melOff: usize = 0; // i32[nMel]
let melW: usize = 0; // f32 weights
let melTmp: usize = 0; // f32[nMel + 4]

export function heapBase(): usize {
  return __heap_base;
}

export function isSimd(): i32 {
  return 1;
}

export function configure(
  n: i32,
  window: usize,
  tM: usize,
  tC: usize,
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
  M = n >> 3;
  win = window;
  twM = tM;
  twC = tC;
  twR = tR;
  const vec = <usize>M << 4;
  aRe = work;
  aIm = aRe + vec;
  bRe = aIm + vec;
  bIm = bRe + vec;
  zRe = bIm + vec;
  zIm = zRe + ((<usize>H + 4) << 2);
  pw = zIm + ((<usize>H + 4) << 2);
  nMel = nMels;
  melStart = mStart;
  melLen = mLen;
  melOff = mOff;
  melW = mW;
  melTmp = mTmp;
}

// Bytes of work memory configure() needs for size n.
export function workBytes(n: i32): i32 {
  return 4 * (n >> 3) * 16 + 3 * ((n >> 1) + 4) * 4;
}

// First radix-4 Stockham stage (n = M, s = 1) fused with the load of the frame; writes b.
function firstStage(src: usize, windowed: bool): void {
  const m = M >> 2;
  for (let p = 0; p < m; p++) {
    const ja = <usize>p;
    const jb = <usize>(p + m);
    const jc = <usize>(p + 2 * m);
    const jd = <usize>(p + 3 * m);
    let lo = v128.load(src + (ja << 5));
    let hi = v128.load(src + (ja << 5) + 16);
    if (windowed) {
      lo = f32x4.mul(lo, v128.load(win + (ja << 5)));
      hi = f32x4.mul(hi, v128.load(win + (ja << 5) + 16));
    }
    const ar = f32x4.shuffle(lo, hi, 0, 2, 4, 6);
    const ai = f32x4.shuffle(lo, hi, 1, 3, 5, 7);
    lo = v128.load(src + (jb << 5));
    hi = v128.load(src + (jb << 5) + 16);
    if (windowed) {
      lo = f32x4.mul(lo, v128.load(win + (jb << 5)));
      hi = f32x4.mul(hi, v128.load(win + (jb << 5) + 16));
    }
    const br = f32x4.shuffle(lo, hi, 0, 2, 4, 6);
    const bi = f32x4.shuffle(lo, hi, 1, 3, 5, 7);
    lo = v128.load(src + (jc << 5));
    hi = v128.load(src + (jc << 5) + 16);
    if (windowed) {
      lo = f32x4.mul(lo, v128.load(win + (jc << 5)));
      hi = f32x4.mul(hi, v128.load(win + (jc << 5) + 16));
    }
    const cr = f32x4.shuffle(lo, hi, 0, 2, 4, 6);
    const ci = f32x4.shuffle(lo, hi, 1, 3, 5, 7);
    lo = v128.load(src + (jd << 5));
    hi = v128.load(src + (jd << 5) + 16);
    if (windowed) {
      lo = f32x4.mul(lo, v128.load(win + (jd << 5)));
      hi = f32x4.mul(hi, v128.load(win + (jd << 5) + 16));
    }
    const dr = f32x4.shuffle(lo, hi, 0, 2, 4, 6);
    const di = f32x4.shuffle(lo, hi, 1, 3, 5, 7);
    const apcR = f32x4.add(ar, cr);
    const apcI = f32x4.add(ai, ci);
    const amcR = f32x4.sub(ar, cr);
    const amcI = f32x4.sub(ai, ci);
    const bpdR = f32x4.add(br, dr);
    const bpdI = f32x4.add(bi, di);
    const bmdR = f32x4.sub(br, dr);
    const bmdI = f32x4.sub(bi, di);
    const t1R = f32x4.add(amcR, bmdI);
    const t1I = f32x4.sub(amcI, bmdR);
    const t2R = f32x4.sub(apcR, bpdR);
    const t2I = f32x4.sub(apcI, bpdI);
    const t3R = f32x4.sub(amcR, bmdI);
    const t3I = f32x4.add(amcI, bmdR);
    const o0 = <usize>(4 * p) << 4;
    v128.store(bRe + o0, f32x4.add(apcR, bpdR));
    v128.store(bIm + o0, f32x4.add(apcI, bpdI));
    if (p == 0) {
      v128.store(bRe + o0 + 16, t1R);
      v128.store(bIm + o0 + 16, t1I);
      v128.store(bRe + o0 + 32, t2R);
      v128.store(bIm + o0 + 32, t2I);
      v128.store(bRe + o0 + 48, t3R);
      v128.store(bIm + o0 + 48, t3I);
    } else {
      const i1 = <usize>p;
      const w1r = v128.load(twM + (i1 << 5));
      const w1i = v128.load(twM + (i1 << 5) + 16);
      const w2r = v128.load(twM + (i1 << 6));
      const w2i = v128.load(twM + (i1 << 6) + 16);
      const w3r = v128.load(twM + ((3 * i1) << 5));
      const w3i = v128.load(twM + ((3 * i1) << 5) + 16);
      v128.store(bRe + o0 + 16, f32x4.sub(f32x4.mul(w1r, t1R), f32x4.mul(w1i, t1I)));
      v128.store(bIm + o0 + 16, f32x4.add(f32x4.mul(w1r, t1I), f32x4.mul(w1i, t1R)));
      v128.store(bRe + o0 + 32, f32x4.sub(f32x4.mul(w2r, t2R), f32x4.mul(w2i, t2I)));
      v128.store(bIm + o0 + 32, f32x4.add(f32x4.mul(w2r, t2I), f32x4.mul(w2i, t2R)));
      v128.store(bRe + o0 + 48, f32x4.sub(f32x4.mul(w3r, t3R), f32x4.mul(w3i, t3I)));
      v128.store(bIm + o0 + 48, f32x4.add(f32x4.mul(w3r, t3I), f32x4.mul(w3i, t3R)));
    }
  }
}

// Stockham radix-4 (and one radix-2) FFT of M points in each lane. Returns 1 if the result is in b.
// The first stage has been done by firstStage (result in b).
function laneFft(): i32 {
  let sR = bRe;
  let sI = bIm;
  let dR = aRe;
  let dI = aIm;
  let flip = 1;
  let n = M >> 2;
  let s = 4;
  while (n >= 4) {
    const m = n >> 2;
    const stride = M / n;
    // p = 0: all twiddles are 1
    for (let q = 0; q < s; q++) {
      const ia = <usize>q << 4;
      const ib = <usize>(q + s * m) << 4;
      const ic = <usize>(q + s * 2 * m) << 4;
      const id = <usize>(q + s * 3 * m) << 4;
      const ar = v128.load(sR + ia);
      const ai = v128.load(sI + ia);
      const br = v128.load(sR + ib);
      const bi = v128.load(sI + ib);
      const cr = v128.load(sR + ic);
      const ci = v128.load(sI + ic);
      const dr = v128.load(sR + id);
      const di = v128.load(sI + id);
      const apcR = f32x4.add(ar, cr);
      const apcI = f32x4.add(ai, ci);
      const amcR = f32x4.sub(ar, cr);
      const amcI = f32x4.sub(ai, ci);
      const bpdR = f32x4.add(br, dr);
      const bpdI = f32x4.add(bi, di);
      const bmdR = f32x4.sub(br, dr);
      const bmdI = f32x4.sub(bi, di);
      const o0 = <usize>q << 4;
      const o1 = o0 + (<usize>s << 4);
      const o2 = o1 + (<usize>s << 4);
      const o3 = o2 + (<usize>s << 4);
      v128.store(dR + o0, f32x4.add(apcR, bpdR));
      v128.store(dI + o0, f32x4.add(apcI, bpdI));
      v128.store(dR + o1, f32x4.add(amcR, bmdI));
      v128.store(dI + o1, f32x4.sub(amcI, bmdR));
      v128.store(dR + o2, f32x4.sub(apcR, bpdR));
      v128.store(dI + o2, f32x4.sub(apcI, bpdI));
      v128.store(dR + o3, f32x4.sub(amcR, bmdI));
      v128.store(dI + o3, f32x4.add(amcI, bmdR));
    }
    for (let p = 1; p < m; p++) {
      const i1 = <usize>(p * stride);
      // twM holds each twiddle pre-splatted: re v128 then im v128, 32 bytes per index
      const w1r = v128.load(twM + (i1 << 5));
      const w1i = v128.load(twM + (i1 << 5) + 16);
      const w2r = v128.load(twM + (i1 << 6));
      const w2i = v128.load(twM + (i1 << 6) + 16);
      const w3r = v128.load(twM + ((3 * i1) << 5));
      const w3i = v128.load(twM + ((3 * i1) << 5) + 16);
      for (let q = 0; q < s; q++) {
        const ia = <usize>(q + s * p) << 4;
        const ib = <usize>(q + s * (p + m)) << 4;
        const ic = <usize>(q + s * (p + 2 * m)) << 4;
        const id = <usize>(q + s * (p + 3 * m)) << 4;
        const ar = v128.load(sR + ia);
        const ai = v128.load(sI + ia);
        const br = v128.load(sR + ib);
        const bi = v128.load(sI + ib);
        const cr = v128.load(sR + ic);
        const ci = v128.load(sI + ic);
        const dr = v128.load(sR + id);
        const di = v128.load(sI + id);
        const apcR = f32x4.add(ar, cr);
        const apcI = f32x4.add(ai, ci);
        const amcR = f32x4.sub(ar, cr);
        const amcI = f32x4.sub(ai, ci);
        const bpdR = f32x4.add(br, dr);
        const bpdI = f32x4.add(bi, di);
        const bmdR = f32x4.sub(br, dr);
        const bmdI = f32x4.sub(bi, di);
        const t1R = f32x4.add(amcR, bmdI);
        const t1I = f32x4.sub(amcI, bmdR);
        const t2R = f32x4.sub(apcR, bpdR);
        const t2I = f32x4.sub(apcI, bpdI);
        const t3R = f32x4.sub(amcR, bmdI);
        const t3I = f32x4.add(amcI, bmdR);
        const o0 = <usize>(q + s * 4 * p) << 4;
        const o1 = o0 + (<usize>s << 4);
        const o2 = o1 + (<usize>s << 4);
        const o3 = o2 + (<usize>s << 4);
        v128.store(dR + o0, f32x4.add(apcR, bpdR));
        v128.store(dI + o0, f32x4.add(apcI, bpdI));
        v128.store(dR + o1, f32x4.sub(f32x4.mul(w1r, t1R), f32x4.mul(w1i, t1I)));
        v128.store(dI + o1, f32x4.add(f32x4.mul(w1r, t1I), f32x4.mul(w1i, t1R)));
        v128.store(dR + o2, f32x4.sub(f32x4.mul(w2r, t2R), f32x4.mul(w2i, t2I)));
        v128.store(dI + o2, f32x4.add(f32x4.mul(w2r, t2I), f32x4.mul(w2i, t2R)));
        v128.store(dR + o3, f32x4.sub(f32x4.mul(w3r, t3R), f32x4.mul(w3i, t3I)));
        v128.store(dI + o3, f32x4.add(f32x4.mul(w3r, t3I), f32x4.mul(w3i, t3R)));
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
    flip ^= 1;
  }
  if (n == 2) {
    for (let q = 0; q < s; q++) {
      const ia = <usize>q << 4;
      const ib = <usize>(q + s) << 4;
      const ar = v128.load(sR + ia);
      const ai = v128.load(sI + ia);
      const br = v128.load(sR + ib);
      const bi = v128.load(sI + ib);
      v128.store(dR + ia, f32x4.add(ar, br));
      v128.store(dI + ia, f32x4.add(ai, bi));
      v128.store(dR + ib, f32x4.sub(ar, br));
      v128.store(dI + ib, f32x4.sub(ai, bi));
    }
    flip ^= 1;
  }
  return flip;
}

// Twiddles the lane results and runs the final radix-4 pass across lanes; Z in natural order.
function combine(yR: usize, yI: usize): void {
  const cI = twC + (<usize>M << 4);
  for (let k: usize = 0; k < <usize>M; k += 4) {
    const o = k << 4;
    let v0r = v128.load(yR + o);
    let v0i = v128.load(yI + o);
    let v1r = v128.load(yR + o + 16);
    let v1i = v128.load(yI + o + 16);
    let v2r = v128.load(yR + o + 32);
    let v2i = v128.load(yI + o + 32);
    let v3r = v128.load(yR + o + 48);
    let v3i = v128.load(yI + o + 48);
    let c = v128.load(twC + o);
    let d = v128.load(cI + o);
    let tr = f32x4.sub(f32x4.mul(v0r, c), f32x4.mul(v0i, d));
    v0i = f32x4.add(f32x4.mul(v0r, d), f32x4.mul(v0i, c));
    v0r = tr;
    c = v128.load(twC + o + 16);
    d = v128.load(cI + o + 16);
    tr = f32x4.sub(f32x4.mul(v1r, c), f32x4.mul(v1i, d));
    v1i = f32x4.add(f32x4.mul(v1r, d), f32x4.mul(v1i, c));
    v1r = tr;
    c = v128.load(twC + o + 32);
    d = v128.load(cI + o + 32);
    tr = f32x4.sub(f32x4.mul(v2r, c), f32x4.mul(v2i, d));
    v2i = f32x4.add(f32x4.mul(v2r, d), f32x4.mul(v2i, c));
    v2r = tr;
    c = v128.load(twC + o + 48);
    d = v128.load(cI + o + 48);
    tr = f32x4.sub(f32x4.mul(v3r, c), f32x4.mul(v3i, d));
    v3i = f32x4.add(f32x4.mul(v3r, d), f32x4.mul(v3i, c));
    v3r = tr;
    // 4x4 transposes: rL holds lane L of Y[k..k+3]
    let t0 = f32x4.shuffle(v0r, v1r, 0, 4, 1, 5);
    let t1 = f32x4.shuffle(v0r, v1r, 2, 6, 3, 7);
    let t2 = f32x4.shuffle(v2r, v3r, 0, 4, 1, 5);
    let t3 = f32x4.shuffle(v2r, v3r, 2, 6, 3, 7);
    const r0 = f32x4.shuffle(t0, t2, 0, 1, 4, 5);
    const r1 = f32x4.shuffle(t0, t2, 2, 3, 6, 7);
    const r2 = f32x4.shuffle(t1, t3, 0, 1, 4, 5);
    const r3 = f32x4.shuffle(t1, t3, 2, 3, 6, 7);
    t0 = f32x4.shuffle(v0i, v1i, 0, 4, 1, 5);
    t1 = f32x4.shuffle(v0i, v1i, 2, 6, 3, 7);
    t2 = f32x4.shuffle(v2i, v3i, 0, 4, 1, 5);
    t3 = f32x4.shuffle(v2i, v3i, 2, 6, 3, 7);
    const i0 = f32x4.shuffle(t0, t2, 0, 1, 4, 5);
    const i1 = f32x4.shuffle(t0, t2, 2, 3, 6, 7);
    const i2 = f32x4.shuffle(t1, t3, 0, 1, 4, 5);
    const i3 = f32x4.shuffle(t1, t3, 2, 3, 6, 7);
    const aR = f32x4.add(r0, r2);
    const aI = f32x4.add(i0, i2);
    const bR = f32x4.sub(r0, r2);
    const bI = f32x4.sub(i0, i2);
    const cR = f32x4.add(r1, r3);
    const cI2 = f32x4.add(i1, i3);
    const dR = f32x4.sub(r1, r3);
    const dI = f32x4.sub(i1, i3);
    const step = <usize>M << 2;
    const z = k << 2;
    v128.store(zRe + z, f32x4.add(aR, cR));
    v128.store(zIm + z, f32x4.add(aI, cI2));
    v128.store(zRe + z + step, f32x4.add(bR, dI));
    v128.store(zIm + z + step, f32x4.sub(bI, dR));
    v128.store(zRe + z + 2 * step, f32x4.sub(aR, cR));
    v128.store(zIm + z + 2 * step, f32x4.sub(aI, cI2));
    v128.store(zRe + z + 3 * step, f32x4.sub(bR, dI));
    v128.store(zIm + z + 3 * step, f32x4.add(bI, dR));
  }
}

// Full complex N/2 FFT of the (windowed) frame at src into zRe/zIm.
@inline function complexHalf(src: usize, windowed: bool): void {
  firstStage(src, windowed);
  if (laneFft()) combine(bRe, bIm);
  else combine(aRe, aIm);
  store<f32>(zRe + (<usize>H << 2), load<f32>(zRe));
  store<f32>(zIm + (<usize>H << 2), load<f32>(zIm));
}

// Real FFT of N samples at src (no window) into out: N/2 + 1 interleaved (re, im) pairs.
export function rfft(src: usize, out: usize): void {
  complexHalf(src, false);
  const half = f32x4.splat(0.5);
  const wI0 = twR + (<usize>N << 2);
  for (let k: usize = 0; k < <usize>H; k += 4) {
    const zr = v128.load(zRe + (k << 2));
    const zi = v128.load(zIm + (k << 2));
    const mo = (<usize>H - k - 3) << 2;
    const mr = f32x4.shuffle(v128.load(zRe + mo), v128.load(zRe + mo), 3, 2, 1, 0);
    const mi = f32x4.shuffle(v128.load(zIm + mo), v128.load(zIm + mo), 3, 2, 1, 0);
    const eR = f32x4.mul(half, f32x4.add(zr, mr));
    const eI = f32x4.mul(half, f32x4.sub(zi, mi));
    const oR = f32x4.mul(half, f32x4.add(zi, mi));
    const oI = f32x4.mul(half, f32x4.sub(mr, zr));
    const wr = v128.load(twR + (k << 2));
    const wi = v128.load(wI0 + (k << 2));
    const xr = f32x4.add(eR, f32x4.sub(f32x4.mul(wr, oR), f32x4.mul(wi, oI)));
    const xi = f32x4.add(eI, f32x4.add(f32x4.mul(wr, oI), f32x4.mul(wi, oR)));
    v128.store(out + (k << 3), f32x4.shuffle(xr, xi, 0, 4, 1, 5));
    v128.store(out + (k << 3) + 16, f32x4.shuffle(xr, xi, 2, 6, 3, 7));
  }
  store<f32>(out + (<usize>N << 2), load<f32>(zRe) - load<f32>(zIm));
  store<f32>(out + (<usize>N << 2) + 4, 0);
}

// |X[k]|^2 (or |X[k]| when magnitude) of the windowed frame at src into pw[0..H].
@inline function powerSpectrum(src: usize, magnitude: bool): void {
  complexHalf(src, true);
  const half = f32x4.splat(0.5);
  const wI0 = twR + (<usize>N << 2);
  for (let k: usize = 0; k < <usize>H; k += 4) {
    const zr = v128.load(zRe + (k << 2));
    const zi = v128.load(zIm + (k << 2));
    const mo = (<usize>H - k - 3) << 2;
    const mr = f32x4.shuffle(v128.load(zRe + mo), v128.load(zRe + mo), 3, 2, 1, 0);
    const mi = f32x4.shuffle(v128.load(zIm + mo), v128.load(zIm + mo), 3, 2, 1, 0);
    const eR = f32x4.mul(half, f32x4.add(zr, mr));
    const eI = f32x4.mul(half, f32x4.sub(zi, mi));
    const oR = f32x4.mul(half, f32x4.add(zi, mi));
    const oI = f32x4.mul(half, f32x4.sub(mr, zr));
    const wr = v128.load(twR + (k << 2));
    const wi = v128.load(wI0 + (k << 2));
    const xr = f32x4.add(eR, f32x4.sub(f32x4.mul(wr, oR), f32x4.mul(wi, oI)));
    const xi = f32x4.add(eI, f32x4.add(f32x4.mul(wr, oI), f32x4.mul(wi, oR)));
    let p = f32x4.add(f32x4.mul(xr, xr), f32x4.mul(xi, xi));
    if (magnitude) p = f32x4.sqrt(p);
    v128.store(pw + (k << 2), p);
  }
  const last = load<f32>(zRe) - load<f32>(zIm);
  store<f32>(pw + (<usize>H << 2), magnitude ? Mathf.abs(last) : last * last);
}

// log2 for positive normal f32 lanes; relative error of the result about 1e-7.
@inline function log2v(x: v128): v128 {
  let e = i32x4.sub(i32x4.shr_u(x, 23), i32x4.splat(127));
  let m = v128.or(v128.and(x, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
  const big = f32x4.gt(m, f32x4.splat(1.4142135));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = i32x4.sub(e, big);
  const one = f32x4.splat(1.0);
  const s = f32x4.div(f32x4.sub(m, one), f32x4.add(m, one));
  const s2 = f32x4.mul(s, s);
  let poly = f32x4.add(f32x4.splat(1.0 / 7.0), f32x4.mul(s2, f32x4.splat(1.0 / 9.0)));
  poly = f32x4.add(f32x4.splat(1.0 / 5.0), f32x4.mul(s2, poly));
  poly = f32x4.add(f32x4.splat(1.0 / 3.0), f32x4.mul(s2, poly));
  poly = f32x4.add(one, f32x4.mul(s2, poly));
  // ln(m) = 2 s poly; log2(m) = ln(m) / ln 2
  const lg = f32x4.mul(f32x4.mul(s, poly), f32x4.splat(<f32>(2.0 / Math.LN2)));
  return f32x4.add(f32x4.convert_i32x4_s(e), lg);
}

// Dot product of Mel row m (weights padded to whole vectors) with pw, as a vector of partial sums.
@inline function melRow(m: i32): v128 {
  let acc = f32x4.splat(0);
  if (m >= nMel) return acc;
  const s = <usize>load<i32>(melStart + (<usize>m << 2));
  const len = load<i32>(melLen + (<usize>m << 2));
  const off = <usize>load<i32>(melOff + (<usize>m << 2));
  const p = pw + (s << 2);
  const w = melW + (off << 2);
  for (let j = 0; j < len; j += 4)
    acc = f32x4.add(acc, f32x4.mul(v128.load(p + (<usize>j << 2)), v128.load(w + (<usize>j << 2))));
  return acc;
}

// Mel bands m .. m+3 of pw as one vector: four row dot products reduced by a transpose-add.
@inline function melQuad(m: i32): v128 {
  const a = melRow(m);
  const b = melRow(m + 1);
  const c = melRow(m + 2);
  const d = melRow(m + 3);
  const ab = f32x4.add(f32x4.shuffle(a, b, 0, 4, 1, 5), f32x4.shuffle(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(f32x4.shuffle(c, d, 0, 4, 1, 5), f32x4.shuffle(c, d, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(ab, cd, 0, 1, 4, 5), f32x4.shuffle(ab, cd, 2, 3, 6, 7));
}

// nFrames frames of the padded signal at sig (frame t starts at sample t * hop) into
// out[m * outStride + t]. mode 1: dB = 10 log10(max(amin, S)) - refDb; mode 0: Mel power S.
// magnitude: use |X| instead of |X|^2.
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
  const aminV = f32x4.splat(amin);
  const scale = f32x4.splat(<f32>(10.0 * Math.LOG10E * Math.LN2)); // 10 log10(2)
  const refV = f32x4.splat(refDb);
  const rowBytes = <usize>outStride << 2;
  for (let t: i32 = 0; t < nFrames; t++) {
    powerSpectrum(sig + ((<usize>t * <usize>hop) << 2), magnitude != 0);
    const col = out + (<usize>t << 2);
    for (let m: i32 = 0; m < nMel; m += 4) {
      let v = melQuad(m);
      if (mode == 1) v = f32x4.sub(f32x4.mul(log2v(f32x4.max(v, aminV)), scale), refV);
      const lanes = nMel - m < 4 ? nMel - m : 4;
      const dst = col + <usize>m * rowBytes;
      store<f32>(dst, f32x4.extract_lane(v, 0));
      if (lanes > 1) store<f32>(dst + rowBytes, f32x4.extract_lane(v, 1));
      if (lanes > 2) store<f32>(dst + 2 * rowBytes, f32x4.extract_lane(v, 2));
      if (lanes > 3) store<f32>(dst + 3 * rowBytes, f32x4.extract_lane(v, 3));
    }
  }
}

// 10 log10(max(amin, x)) - refDb in place over n values.
export function toDb(ptr: usize, n: i32, amin: f32, refDb: f32): void {
  const aminV = f32x4.splat(amin);
  const scale = f32x4.splat(<f32>(10.0 * Math.LOG10E * Math.LN2));
  const refV = f32x4.splat(refDb);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = ptr + (<usize>i << 2);
    v128.store(p, f32x4.sub(f32x4.mul(log2v(f32x4.max(v128.load(p), aminV)), scale), refV));
  }
  for (; i < n; i++) {
    const p = ptr + (<usize>i << 2);
    const v = f32x4.sub(f32x4.mul(log2v(f32x4.max(f32x4.splat(load<f32>(p)), aminV)), scale), refV);
    store<f32>(p, f32x4.extract_lane(v, 0));
  }
}

// Clamps n dB values to (max - topDb); returns the max.
export function clampTopDb(ptr: usize, n: i32, topDb: f32): f32 {
  let mx = f32x4.splat(-Infinity);
  let i = 0;
  for (; i + 4 <= n; i += 4) mx = f32x4.max(mx, v128.load(ptr + (<usize>i << 2)));
  let best = Mathf.max(
    Mathf.max(f32x4.extract_lane(mx, 0), f32x4.extract_lane(mx, 1)),
    Mathf.max(f32x4.extract_lane(mx, 2), f32x4.extract_lane(mx, 3)),
  );
  for (; i < n; i++) best = Mathf.max(best, load<f32>(ptr + (<usize>i << 2)));
  const floor = best - topDb;
  const fv = f32x4.splat(floor);
  i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = ptr + (<usize>i << 2);
    v128.store(p, f32x4.max(v128.load(p), fv));
  }
  for (; i < n; i++) {
    const p = ptr + (<usize>i << 2);
    if (load<f32>(p) < floor) store<f32>(p, floor);
  }
  return best;
}

// Index of the first NaN or +-Infinity among n f32 values, or -1.
export function firstNonFinite(ptr: usize, n: i32): i32 {
  let i = 0;
  const inf = f32x4.splat(Infinity);
  for (; i + 16 <= n; i += 16) {
    const p = ptr + (<usize>i << 2);
    // |x| < inf is false for NaN and for +-inf
    const ok = v128.and(
      v128.and(f32x4.lt(f32x4.abs(v128.load(p)), inf), f32x4.lt(f32x4.abs(v128.load(p, 16)), inf)),
      v128.and(f32x4.lt(f32x4.abs(v128.load(p, 32)), inf), f32x4.lt(f32x4.abs(v128.load(p, 48)), inf)),
    );
    if (!i32x4.all_true(ok)) break;
  }
  for (; i < n; i++) {
    const v = load<f32>(ptr + (<usize>i << 2));
    if (!(Mathf.abs(v) < Infinity)) return i;
  }
  return -1;
}

// Overlap-save filtering of two real blocks at once (resample-fft.ts): with the plan configured for
// n = 2H, the blocks a = raw[0 .. H) and b = raw[bOffset .. bOffset + H) go in as the complex
// signal a + ib; its H-point DFT times `spec` (the filter's conj(DFT) / H, split: re[H] then im[H])
// is the DFT of the circular correlations of a and b with the filter, and a second forward DFT of
// its conjugate gives them back (IDFT(Y) = conj(DFT(conj Y))): a's in zRe, b's as -zIm. Every
// `step`-th of the first count * step values of each goes to out (a's count, then b's).
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
  for (let i: usize = 0; i < <usize>H; i += 4) {
    const a = v128.load(raw + (i << 2));
    const b = v128.load(rb + (i << 2));
    v128.store(src + (i << 3), f32x4.shuffle(a, b, 0, 4, 1, 5));
    v128.store(src + (i << 3) + 16, f32x4.shuffle(a, b, 2, 6, 3, 7));
  }
  complexHalf(src, false);
  const specIm = spec + (<usize>H << 2);
  for (let k: usize = 0; k < <usize>H; k += 4) {
    const zr = v128.load(zRe + (k << 2));
    const zi = v128.load(zIm + (k << 2));
    const cr = v128.load(spec + (k << 2));
    const ci = v128.load(specIm + (k << 2));
    const yr = f32x4.sub(f32x4.mul(zr, cr), f32x4.mul(zi, ci));
    const nyi = f32x4.neg(f32x4.add(f32x4.mul(zr, ci), f32x4.mul(zi, cr)));
    v128.store(src + (k << 3), f32x4.shuffle(yr, nyi, 0, 4, 1, 5));
    v128.store(src + (k << 3) + 16, f32x4.shuffle(yr, nyi, 2, 6, 3, 7));
  }
  complexHalf(src, false);
  const outB = out + (<usize>count << 2);
  for (let j = 0; j < count; j++) {
    const at = <usize>(j * step) << 2;
    store<f32>(out + (<usize>j << 2), load<f32>(zRe + at));
    store<f32>(outB + (<usize>j << 2), -load<f32>(zIm + at));
  }
}

export { polyphase, polyphase64, polyphaseInterp, polyphaseInterp64 } from "./resample-simd";
