/**
 * Compiles a graph into a static execution plan: shapes, a memory map of the shared wasm
 * memory (packed weights, indirection buffers, one activation arena reused by liveness), and
 * one kernel call record per op.
 */
import { padding1d } from "./arch.js";
import type { EamGraph } from "./format.js";

export const ALIGN = 64;
const align = (n: number, a = ALIGN): number => Math.ceil(n / a) * a;

/** One kernel invocation; every thread runs its own slice of it. */
export type OpRecord =
  | {
      kind: "gemm";
      layer: string;
      M: number;
      N: number;
      K: number;
      a: number;
      as: number;
      w: number;
      c: number;
      cs: number;
      relu: number;
      single: boolean;
    }
  | {
      kind: "igemm";
      layer: string;
      M: number;
      N: number;
      K: number;
      ks: number;
      ind: number;
      w: number;
      c: number;
      cs: number;
      relu: number;
      single: boolean;
    }
  | {
      kind: "maxpool";
      layer: string;
      ih: number;
      iw: number;
      c: number;
      oh: number;
      ow: number;
      kh: number;
      kw: number;
      sh: number;
      sw: number;
      pt: number;
      pl: number;
      x: number;
      y: number;
      single: boolean;
    }
  | {
      /** Winograd F(2x2,3x3) input transform: x -> V[16][T][C]. */
      kind: "wino_in";
      layer: string;
      ih: number;
      iw: number;
      c: number;
      tw: number;
      tiles: number;
      x: number;
      v: number;
      vstride: number;
      single: boolean;
    }
  | {
      /** 16 GEMMs M_e = V_e U_e, one per Winograd position e. */
      kind: "bgemm";
      layer: string;
      batch: number;
      M: number;
      N: number;
      K: number;
      a: number;
      as: number;
      astride: number;
      w: number;
      wstride: number;
      c: number;
      cs: number;
      cstride: number;
      single: boolean;
    }
  | {
      /** Winograd output transform + bias (+ReLU): M[16][T][C] -> y. */
      kind: "wino_out";
      layer: string;
      oh: number;
      ow: number;
      c: number;
      tw: number;
      tiles: number;
      m: number;
      mstride: number;
      bias: number;
      y: number;
      relu: number;
      single: boolean;
    }
  | { kind: "add"; layer: string; n: number; a: number; b: number; y: number; relu: number; single: boolean }
  | { kind: "gap"; layer: string; hw: number; c: number; x: number; y: number; single: boolean }
  | { kind: "softmax"; layer: string; n: number; x: number; y: number; single: boolean };

/** Weight tensors to load: raw [k, n] f32 matrix + bias, packed at `dst`. */
export interface WeightLoad {
  layer: string;
  weight: string;
  bias: string;
  /** Expected shapes in the file. */
  weightShape: number[];
  biasShape: number[];
  k: number;
  n: number;
  dst: number;
  packedBytes: number;
  /** Winograd F(2x2,3x3): 16 packed matrices [cin x cout] then the bias at dst + biasOffset. */
  winograd?: { cin: number; cout: number; panelBytes: number; biasOffset: number };
}

export interface TensorPlacement {
  name: string;
  shape: number[];
  bytes: number;
  /** Absolute byte address in wasm memory. */
  addr: number;
  /** First op that writes it (-1: the graph input) and last op that reads it. */
  def: number;
  lastUse: number;
  /** Name of the tensor whose memory it shares (dropout, in-place add). */
  aliasOf?: string;
}

export interface IndirectionBuffer {
  addr: number;
  /** Pointers to write: for each output pixel and tap, an input address or the zero buffer. */
  build(view: Uint32Array): void;
}

export interface Plan {
  ops: OpRecord[];
  /** Barrier after op i (all threads) before op i+1. */
  barrierAfter: boolean[];
  weights: WeightLoad[];
  tensors: Map<string, TensorPlacement>;
  indirection: IndirectionBuffer[];
  input: TensorPlacement;
  output: TensorPlacement;
  /** Memory map. */
  controlAddr: number;
  zeroAddr: number;
  zeroBytes: number;
  arenaAddr: number;
  arenaBytes: number;
  /** Sum of the live activation bytes at the worst op (a lower bound for any arena). */
  peakLiveBytes: number;
  /** Largest input(s) + output bytes of a single op. */
  largestOpBytes: number;
  indirectionBytes: number;
  weightsAddr: number;
  weightsBytes: number;
  /** Scratch for raw tensors during loading (inside the arena region, which is idle then). */
  scratchAddr: number;
  scratchBytes: number;
  totalBytes: number;
  macs: number;
  params: number;
  tile: number;
}

export interface PlanOptions {
  /** Activation tensors kept alive to the end (readable after run). */
  keep?: string[];
  tile: number;
  /** First free byte of the wasm memory (the module's heap base). */
  heapBase: number;
  /** Run 3x3 stride-1 "same" convolutions with Winograd F(2x2,3x3) (default true). */
  winograd?: boolean;
}

interface Node {
  layer: string;
  kind: OpRecord["kind"] | "dropout";
  inputs: string[];
  output: string;
}

export function buildPlan(graph: EamGraph, opts: PlanOptions): Plan {
  const shapes = new Map<string, number[]>([[graph.input, graph.inputShape]]);
  const need = (n: string): number[] => {
    const s = shapes.get(n);
    if (!s) throw new Error(`graph: tensor ${n} used before it is defined`);
    return s;
  };
  const nodes: Node[] = [];
  const weights: WeightLoad[] = [];
  let macs = 0;
  let params = 0;
  // Op parameters resolved after placement.
  const pending: ((addr: (n: string) => number) => OpRecord)[] = [];
  const indirectionSpecs: {
    ops: number;
    bytes: number;
    fill: (addr: (n: string) => number, v: Uint32Array, base: number, zero: number) => void;
  }[] = [];

  for (const l of graph.layers) {
    switch (l.op) {
      case "conv": {
        const [h, w, cin] = need(l.input) as [number, number, number];
        if (shapes.get(l.input)!.length !== 3) throw new Error(`conv ${l.name}: input must be HWC`);
        const [kh, kw] = l.kernel;
        const [sh, sw] = l.stride;
        const ph = padding1d(l.padding, h, kh, sh);
        const pw = padding1d(l.padding, w, kw, sw);
        const oh = ph.out;
        const ow = pw.out;
        const cout = l.filters;
        if (oh < 1 || ow < 1) throw new Error(`conv ${l.name}: empty output`);
        shapes.set(l.name, [oh, ow, cout]);
        const K = kh * kw * cin;
        const packedBytes = Math.ceil(cout / 8) * (K + 1) * 32;
        weights.push({
          layer: l.name,
          weight: `${l.name}.weight`,
          bias: `${l.name}.bias`,
          weightShape: [kh, kw, cin, cout],
          biasShape: [cout],
          k: K,
          n: cout,
          dst: 0,
          packedBytes,
        });
        macs += oh * ow * cout * K;
        params += K * cout + cout;
        const wi = weights.length - 1;
        const M = oh * ow;
        const relu = l.relu ? 1 : 0;
        const name = l.name;
        const input = l.input;
        const wino =
          (opts.winograd ?? true) &&
          kh === 3 &&
          kw === 3 &&
          sh === 1 &&
          sw === 1 &&
          ph.before === 1 &&
          pw.before === 1 &&
          ph.after === 1 &&
          pw.after === 1;
        if (wino) {
          const th = Math.ceil(oh / 2);
          const tw = Math.ceil(ow / 2);
          const T = th * tw;
          const panelBytes = Math.ceil(cout / 8) * (cin + 1) * 32;
          const wl = weights[wi]!;
          wl.packedBytes = 16 * panelBytes + align(cout * 4);
          wl.winograd = { cin, cout, panelBytes, biasOffset: 16 * panelBytes };
          macs += 0; // counted as the direct convolution above
          const vName = `${name}#winograd.V`;
          const mName = `${name}#winograd.M`;
          shapes.set(vName, [16, T, cin]);
          shapes.set(mName, [16, T, cout]);
          pending.push((addr) => ({
            kind: "wino_in",
            layer: name,
            ih: h,
            iw: w,
            c: cin,
            tw,
            tiles: T,
            x: addr(input),
            v: addr(vName),
            vstride: T * cin * 4,
            single: false,
          }));
          nodes.push({ layer: l.name, kind: "wino_in", inputs: [l.input], output: vName });
          pending.push((addr) => ({
            kind: "bgemm",
            layer: name,
            batch: 16,
            M: T,
            N: cout,
            K: cin,
            a: addr(vName),
            as: cin * 4,
            astride: T * cin * 4,
            w: weights[wi]!.dst,
            wstride: panelBytes,
            c: addr(mName),
            cs: cout * 4,
            cstride: T * cout * 4,
            single: false,
          }));
          nodes.push({ layer: l.name, kind: "bgemm", inputs: [vName], output: mName });
          pending.push((addr) => ({
            kind: "wino_out",
            layer: name,
            oh,
            ow,
            c: cout,
            tw,
            tiles: T,
            m: addr(mName),
            mstride: T * cout * 4,
            bias: weights[wi]!.dst + 16 * panelBytes,
            y: addr(name),
            relu,
            single: false,
          }));
          nodes.push({ layer: l.name, kind: "wino_out", inputs: [mName], output: l.name });
          break;
        }
        if (kh === 1 && kw === 1 && sh === 1 && sw === 1) {
          pending.push((addr) => ({
            kind: "gemm",
            layer: name,
            M,
            N: cout,
            K: cin,
            a: addr(input),
            as: cin * 4,
            w: weights[wi]!.dst,
            c: addr(name),
            cs: cout * 4,
            relu,
            single: false,
          }));
        } else {
          const ks = kh * kw;
          const idx = indirectionSpecs.length;
          indirectionSpecs.push({
            ops: pending.length,
            bytes: M * ks * 4,
            fill: (addr, v, base, zero) => {
              const x = addr(input);
              let o = base >>> 2;
              for (let oy = 0; oy < oh; oy++) {
                for (let ox = 0; ox < ow; ox++) {
                  for (let ky = 0; ky < kh; ky++) {
                    const iy = oy * sh - ph.before + ky;
                    for (let kx = 0; kx < kw; kx++) {
                      const ix = ox * sw - pw.before + kx;
                      v[o++] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x + (iy * w + ix) * cin * 4 : zero;
                    }
                  }
                }
              }
            },
          });
          pending.push((addr) => ({
            kind: "igemm",
            layer: name,
            M,
            N: cout,
            K: cin,
            ks,
            ind: indAddrs[idx]!,
            w: weights[wi]!.dst,
            c: addr(name),
            cs: cout * 4,
            relu,
            single: false,
          }));
        }
        nodes.push({ layer: l.name, kind: "gemm", inputs: [l.input], output: l.name });
        break;
      }
      case "maxpool": {
        const [h, w, c] = need(l.input) as [number, number, number];
        const [kh, kw] = l.pool;
        const [sh, sw] = l.stride;
        const ph = padding1d(l.padding, h, kh, sh);
        const pw = padding1d(l.padding, w, kw, sw);
        shapes.set(l.name, [ph.out, pw.out, c]);
        const name = l.name;
        const input = l.input;
        pending.push((addr) => ({
          kind: "maxpool",
          layer: name,
          ih: h,
          iw: w,
          c,
          oh: ph.out,
          ow: pw.out,
          kh,
          kw,
          sh,
          sw,
          pt: ph.before,
          pl: pw.before,
          x: addr(input),
          y: addr(name),
          single: false,
        }));
        nodes.push({ layer: l.name, kind: "maxpool", inputs: [l.input], output: l.name });
        break;
      }
      case "add": {
        const a = need(l.inputs[0]);
        const b = need(l.inputs[1]);
        if (a.join() !== b.join()) throw new Error(`add ${l.name}: shapes [${a}] and [${b}] differ`);
        shapes.set(l.name, a);
        const n = a.reduce((x, y) => x * y, 1);
        const [ia, ib] = l.inputs;
        const name = l.name;
        const relu = l.relu ? 1 : 0;
        pending.push((addr) => ({
          kind: "add",
          layer: name,
          n,
          a: addr(ia),
          b: addr(ib),
          y: addr(name),
          relu,
          single: false,
        }));
        nodes.push({ layer: l.name, kind: "add", inputs: [...l.inputs], output: l.name });
        break;
      }
      case "gap": {
        const s = need(l.input);
        if (s.length !== 3) throw new Error(`gap ${l.name}: input must be HWC`);
        shapes.set(l.name, [s[2]!]);
        const name = l.name;
        const input = l.input;
        pending.push((addr) => ({
          kind: "gap",
          layer: name,
          hw: s[0]! * s[1]!,
          c: s[2]!,
          x: addr(input),
          y: addr(name),
          single: true,
        }));
        nodes.push({ layer: l.name, kind: "gap", inputs: [l.input], output: l.name });
        break;
      }
      case "dropout": {
        shapes.set(l.name, need(l.input));
        nodes.push({ layer: l.name, kind: "dropout", inputs: [l.input], output: l.name });
        break;
      }
      case "dense": {
        const s = need(l.input);
        const cin = s.reduce((x, y) => x * y, 1);
        shapes.set(l.name, [l.units]);
        weights.push({
          layer: l.name,
          weight: `${l.name}.weight`,
          bias: `${l.name}.bias`,
          weightShape: [cin, l.units],
          biasShape: [l.units],
          k: cin,
          n: l.units,
          dst: 0,
          packedBytes: Math.ceil(l.units / 8) * (cin + 1) * 32,
        });
        macs += cin * l.units;
        params += cin * l.units + l.units;
        const wi = weights.length - 1;
        const name = l.name;
        const input = l.input;
        const units = l.units;
        pending.push((addr) => ({
          kind: "gemm",
          layer: name,
          M: 1,
          N: units,
          K: cin,
          a: addr(input),
          as: cin * 4,
          w: weights[wi]!.dst,
          c: addr(name),
          cs: units * 4,
          relu: 0,
          single: true,
        }));
        nodes.push({ layer: l.name, kind: "gemm", inputs: [l.input], output: l.name });
        break;
      }
      case "softmax": {
        const s = need(l.input);
        shapes.set(l.name, s);
        const n = s.reduce((x, y) => x * y, 1);
        const name = l.name;
        const input = l.input;
        pending.push((addr) => ({
          kind: "softmax",
          layer: name,
          n,
          x: addr(input),
          y: addr(name),
          single: true,
        }));
        nodes.push({ layer: l.name, kind: "softmax", inputs: [l.input], output: l.name });
        break;
      }
      default:
        throw new Error(`unsupported op ${(l as { op: string }).op}`);
    }
  }
  need(graph.output);

  // ---- Liveness. Op index = index into `nodes` without dropout; dropout aliases its input.
  const canon = new Map<string, string>(); // tensor -> the tensor whose memory it uses
  const root = (n: string): string => {
    let r = n;
    while (canon.has(r)) r = canon.get(r)!;
    return r;
  };
  const keep = new Set(opts.keep ?? []);
  for (const k of keep) if (!shapes.has(k)) throw new Error(`keep: no tensor named ${k}`);
  const tensors = new Map<string, TensorPlacement>();
  const bytesOf = (n: string): number => shapes.get(n)!.reduce((a, b) => a * b, 1) * 4;
  tensors.set(graph.input, {
    name: graph.input,
    shape: shapes.get(graph.input)!,
    bytes: bytesOf(graph.input),
    addr: 0,
    def: -1,
    lastUse: -1,
  });
  let opIndex = 0;
  const opOfNode: number[] = [];
  for (const nd of nodes) {
    if (nd.kind === "dropout") {
      canon.set(nd.output, nd.inputs[0]!);
      opOfNode.push(-1);
      continue;
    }
    for (const i of nd.inputs) {
      const t = tensors.get(root(i))!;
      t.lastUse = Math.max(t.lastUse, opIndex);
    }
    // In-place add: the output takes the memory of its first input when that input dies here.
    if (nd.kind === "add") {
      const ra = root(nd.inputs[0]!);
      const ta = tensors.get(ra)!;
      const aliveLater = nodes.slice(nodes.indexOf(nd) + 1).some((x) => x.inputs.some((i) => root(i) === ra));
      if (ra !== root(graph.input) && !keep.has(ra) && !aliveLater && ra !== root(nd.inputs[1]!)) {
        canon.set(nd.output, ra);
        ta.lastUse = opIndex;
        opOfNode.push(opIndex++);
        continue;
      }
    }
    tensors.set(nd.output, {
      name: nd.output,
      shape: shapes.get(nd.output)!,
      bytes: bytesOf(nd.output),
      addr: 0,
      def: opIndex,
      lastUse: opIndex,
    });
    opOfNode.push(opIndex++);
  }
  const nOps = opIndex;
  // Uses after the in-place extension (a later reader of an aliased name).
  for (const [i, nd] of nodes.entries()) {
    if (nd.kind === "dropout") continue;
    for (const inp of nd.inputs) {
      const t = tensors.get(root(inp))!;
      t.lastUse = Math.max(t.lastUse, opOfNode[i]!);
    }
  }
  tensors.get(root(graph.output))!.lastUse = nOps;
  for (const k of keep) tensors.get(root(k))!.lastUse = nOps;

  // ---- Greedy placement: each tensor at the lowest offset that does not overlap a tensor live
  // at the same time. Several visiting orders are tried (largest first, longest-lived first,
  // execution order); the smallest arena wins.
  const all = [...tensors.values()];
  const orders = [
    [...all].sort((a, b) => b.bytes - a.bytes || a.def - b.def),
    [...all].sort((a, b) => b.lastUse - b.def - (a.lastUse - a.def) || b.bytes - a.bytes),
    [...all].sort((a, b) => a.def - b.def || b.bytes - a.bytes),
    [...all].sort((a, b) => b.bytes * (b.lastUse - b.def + 1) - a.bytes * (a.lastUse - a.def + 1)),
  ];
  let arenaBytes = Number.POSITIVE_INFINITY;
  let rel = new Map<string, number>();
  for (const list of orders) {
    const placed: { off: number; size: number; def: number; last: number }[] = [];
    let top = 0;
    const r = new Map<string, number>();
    for (const t of list) {
      const size = align(t.bytes);
      const conflicts = placed
        .filter((p) => p.def <= t.lastUse && t.def <= p.last)
        .sort((a, b) => a.off - b.off);
      let off = 0;
      for (const c of conflicts) {
        if (off + size <= c.off) break;
        off = Math.max(off, c.off + c.size);
      }
      placed.push({ off, size, def: t.def, last: t.lastUse });
      r.set(t.name, off);
      top = Math.max(top, off + size);
    }
    if (top < arenaBytes) {
      arenaBytes = top;
      rel = r;
    }
  }
  let peakLiveBytes = 0;
  for (let i = -1; i <= nOps; i++) {
    let s = 0;
    for (const t of tensors.values()) if (t.def <= i && i <= t.lastUse) s += align(t.bytes);
    peakLiveBytes = Math.max(peakLiveBytes, s);
  }
  let largestOpBytes = 0;
  for (const nd of nodes) {
    if (nd.kind === "dropout") continue;
    const set = new Set([...nd.inputs, nd.output].map(root));
    let s = 0;
    for (const n of set) s += align(tensors.get(n)!.bytes);
    largestOpBytes = Math.max(largestOpBytes, s);
  }

  // ---- Memory map.
  let cur = align(opts.heapBase, 64);
  const controlAddr = cur;
  cur += 64;
  let zeroBytes = 64;
  for (const l of graph.layers) {
    if (l.op === "conv") zeroBytes = Math.max(zeroBytes, shapes.get(l.input)![2]! * 4, l.filters * 4);
  }
  zeroBytes = align(zeroBytes);
  const zeroAddr = cur;
  cur += zeroBytes;
  const indAddrs: number[] = [];
  const indirectionBytes = indirectionSpecs.reduce((s, x) => s + align(x.bytes), 0);
  for (const spec of indirectionSpecs) {
    indAddrs.push(cur);
    cur += align(spec.bytes);
  }
  const weightsAddr = cur;
  for (const w of weights) {
    w.dst = cur;
    cur += align(w.packedBytes);
  }
  const weightsBytes = cur - weightsAddr;
  const arenaAddr = cur;
  let maxRaw = 0;
  for (const w of weights) {
    maxRaw = Math.max(maxRaw, align(w.k * w.n * 4) + align(w.n * 4));
  }
  const scratchBytes = maxRaw;
  const scratchAddr = arenaAddr;
  cur += Math.max(arenaBytes, scratchBytes);
  const totalBytes = align(cur, 65536);

  for (const t of tensors.values()) t.addr = arenaAddr + rel.get(t.name)!;
  const addr = (n: string): number => tensors.get(root(n))!.addr;
  const ops = pending.map((f) => f(addr));
  const indirection: IndirectionBuffer[] = indirectionSpecs.map((s, i) => ({
    addr: indAddrs[i]!,
    build: (view: Uint32Array) => s.fill(addr, view, indAddrs[i]!, zeroAddr),
  }));
  // Aliased names resolve to their root placement.
  for (const [n, r] of canon) {
    if (!tensors.has(n)) {
      const t = tensors.get(root(r))!;
      tensors.set(n, { ...t, name: n, shape: shapes.get(n)!, aliasOf: t.name });
    }
  }
  const barrierAfter = ops.map((op, i) => {
    const next = ops[i + 1];
    if (!next) return !op.single;
    return !(op.single && next.single);
  });
  return {
    ops,
    barrierAfter,
    weights,
    tensors,
    indirection,
    input: tensors.get(graph.input)!,
    output: tensors.get(graph.output)!,
    controlAddr,
    zeroAddr,
    zeroBytes,
    arenaAddr,
    arenaBytes,
    peakLiveBytes,
    largestOpBytes,
    indirectionBytes,
    weightsAddr,
    weightsBytes,
    scratchAddr,
    scratchBytes,
    totalBytes,
    macs,
    params,
    tile: opts.tile,
  };
}
