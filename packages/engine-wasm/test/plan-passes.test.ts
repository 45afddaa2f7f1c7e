/**
 * The planner's passes one at a time, on a small residual graph: lowering (kernel calls with
 * symbolic addresses, Winograd choice, int8 residual fusion), liveness (aliases, in-place add,
 * kept tensors), placement (no two live tensors overlap) and the memory map (alignment, order,
 * address resolution, indirection).
 */
import { describe, expect, it } from "vitest";
import type { ConvSpec } from "../dist/arch.js";
import type { EamGraph } from "../dist/format.js";
import { liveness, rootOf } from "../dist/plan/liveness.js";
import { lowerGraph } from "../dist/plan/lower.js";
import { addressResolver, fillIndirection, memoryMap, resolveOp } from "../dist/plan/memory-map.js";
import { type Lifetime, largestOpBytes, peakLiveBytes, placeTensors } from "../dist/plan/placement.js";
import type { ActQuant, LoweredGraph, PlanOptions, Precision } from "../dist/plan/types.js";
import { mulberry32 } from "../dist/random.js";
import { createMemory, instantiate, kernelModule } from "../dist/wasm.js";

const conv = (name: string, input: string, relu: boolean): ConvSpec => ({
  op: "conv",
  name,
  input,
  filters: 4,
  kernel: [3, 3],
  stride: [1, 1],
  padding: "same",
  bn: false,
  relu,
});

/** x -> c1 (relu) -> c2; a = relu(c2 + c1); gap; dropout; dense 3; softmax. */
const graph: EamGraph = {
  input: "x",
  inputShape: [8, 8, 1],
  output: "sm",
  layers: [
    conv("c1", "x", true),
    conv("c2", "c1", false),
    { op: "add", name: "a", inputs: ["c2", "c1"], relu: true },
    { op: "gap", name: "g", input: "a" },
    { op: "dropout", name: "d", input: "g", rate: 0.5 },
    { op: "dense", name: "fc", input: "d", units: 3 },
    { op: "softmax", name: "sm", input: "fc" },
  ],
};
const kernel = instantiate(kernelModule("scalar"), createMemory(1 << 16));
const base: PlanOptions = { tile: 4, heapBase: 1000, kernel };
const kinds = (g: LoweredGraph) => g.nodes.map((n) => n.op?.kind ?? `alias ${n.output}`);
const q = (scale: number): ActQuant => ({ scale, zeroPoint: -3 });
const int8: PlanOptions = {
  ...base,
  precision: new Map<string, Precision>([
    ["c1", "int8"],
    ["c2", "int8"],
    ["a", "int8"],
    ["g", "int8"],
  ]),
  activations: new Map([
    ["x", q(0.01)],
    ["c1", q(0.02)],
    ["c2", q(0.03)],
    ["a", q(0.04)],
  ]),
};

describe("lowering", () => {
  it("f32: Winograd for 3x3 same convolutions, every address a reference", () => {
    const g = lowerGraph(graph, base);
    expect(kinds(g)).toEqual([
      ...["wino_in", "bgemm", "wino_out"],
      ...["wino_in", "bgemm", "wino_out"],
      "add",
      "gap",
      "alias d",
      "gemm",
      "softmax",
    ]);
    const add = g.nodes[6]!.op!;
    expect(add).toMatchObject({ a: { tensor: "c2" }, b: { tensor: "c1" }, y: { tensor: "a" }, relu: 1 });
    expect(g.weights.map((w) => [w.layer, w.dst, w.winograd !== undefined])).toEqual([
      ["c1", 0, true],
      ["c2", 0, true],
      ["fc", 0, false],
    ]);
    expect(g.nodes[2]!.op).toMatchObject({ bias: { weight: 0, offset: g.weights[0]!.winograd!.biasOffset } });
    expect(g.macs).toBe(64 * 4 * 9 * 1 + 64 * 4 * 9 * 4 + 4 * 3);
  });

  it("f32 without Winograd: indirect GEMMs with one indirection buffer each", () => {
    const g = lowerGraph(graph, { ...base, winograd: false });
    expect(kinds(g).slice(0, 2)).toEqual(["igemm", "igemm"]);
    expect(g.nodes[0]!.op).toMatchObject({ ind: { indirection: 0 }, ks: 9 });
    expect(g.indirection.map((s) => s.input)).toEqual(["x", "c1"]);
  });

  it("int8: the input is quantized once and the residual add fuses into c2's epilogue", () => {
    const g = lowerGraph(graph, int8);
    expect(kinds(g)).toEqual([
      "quant",
      ...["qwino_in", "qwino_gemm"],
      ...["qwino_in", "qwino_gemm"],
      "alias a",
      "qgap",
      "alias d",
      "gemm",
      "softmax",
    ]);
    expect(g.nodes[4]!.op).toMatchObject({
      relu: 1,
      rq: { block: "t:c1" },
      rd: { distance: ["c1", "c2"] },
    });
    expect(g.nodes[4]!.inputs).toContain("c1");
    expect(g.quant.get("c2")).toEqual(q(0.04));
  });

  it("int8 without calibrated parameters is refused, naming the layer", () => {
    expect(() => lowerGraph(graph, { ...int8, activations: new Map() })).toThrow(
      /int8 layer c1: activation x/,
    );
  });
});

describe("liveness", () => {
  const g = lowerGraph(graph, base);
  it("dropout aliases its input; the f32 add writes into its dying first input", () => {
    const live = liveness(g, { input: "x", output: "sm", keep: [] });
    expect(rootOf(live.alias, "d")).toBe("g");
    expect(rootOf(live.alias, "a")).toBe("c2");
    expect(live.tensors.has("a")).toBe(false);
    expect(live.ops).toBe(10);
    expect(live.tensors.get("x")).toMatchObject({ def: -1, lastUse: 0, bytes: 8 * 8 * 4 });
    // c1 is read by c2's input transform (op 3) and the add (op 6)
    expect(live.tensors.get("c1")).toMatchObject({ def: 2, lastUse: 6 });
    expect(live.tensors.get("sm")!.lastUse).toBe(10);
  });

  it("kept tensors live to the end; an unknown name is refused", () => {
    const live = liveness(g, { input: "x", output: "sm", keep: ["c1"] });
    expect(live.tensors.get("c1")!.lastUse).toBe(live.ops);
    expect(() => liveness(g, { input: "x", output: "sm", keep: ["nope"] })).toThrow(
      /keep: no tensor named nope/,
    );
  });
});

describe("placement", () => {
  it("reuses memory of tensors that are not alive together", () => {
    const a = { name: "A", bytes: 100, def: 0, lastUse: 1 };
    const b = { name: "B", bytes: 64, def: 1, lastUse: 2 };
    const c = { name: "C", bytes: 128, def: 2, lastUse: 3 };
    const p = placeTensors([a, b, c]);
    expect(p.offsets.get("A")).toBe(p.offsets.get("C"));
    expect(p.arenaBytes).toBe(192);
    expect(peakLiveBytes([a, b, c], 3)).toBe(192);
    expect(largestOpBytes([[a, b], [c]])).toBe(192);
  });

  it("random lifetimes: no overlap in time and space, arena at least the peak", () => {
    const rand = mulberry32(3);
    for (let trial = 0; trial < 20; trial++) {
      const ts: Lifetime[] = Array.from({ length: 30 }, (_, i) => {
        const def = Math.floor(rand() * 40) - 1;
        return {
          name: `t${i}`,
          bytes: 1 + Math.floor(rand() * 5000),
          def,
          lastUse: def + Math.floor(rand() * 8),
        };
      });
      const p = placeTensors(ts);
      for (const x of ts)
        for (const y of ts) {
          if (x === y || x.lastUse < y.def || y.lastUse < x.def) continue;
          const [ox, oy] = [p.offsets.get(x.name)!, p.offsets.get(y.name)!];
          expect(ox + x.bytes <= oy || oy + y.bytes <= ox, `${x.name} / ${y.name}`).toBe(true);
        }
      expect(p.arenaBytes).toBeGreaterThanOrEqual(peakLiveBytes(ts, 50));
    }
  });
});

describe("memory map", () => {
  const g = lowerGraph(graph, { ...base, winograd: false });
  const map = memoryMap(graph, g, { heapBase: 1000, threads: 2, arenaBytes: 4096 });

  it("regions in order, 64-byte aligned, total a whole number of wasm pages", () => {
    expect(map.controlAddr).toBe(1024);
    expect(map.zeroAddr).toBe(1088);
    const starts = [map.zeroAddr, ...map.indirectionAddr, ...map.weightDst, map.arenaAddr];
    for (const a of starts) expect(a % 64).toBe(0);
    expect([...starts].sort((x, y) => x - y)).toEqual(starts);
    expect(map.weightsBytes).toBe(g.weights.reduce((s, w) => s + Math.ceil(w.packedBytes / 64) * 64, 0));
    expect(map.totalBytes % 65536).toBe(0);
    expect(map.totalBytes).toBeGreaterThanOrEqual(map.arenaAddr + Math.max(4096, map.loadScratchBytes));
  });

  it("resolves references and fills indirection buffers", () => {
    const tensorAddr = (n: string) => map.arenaAddr + (n === "x" ? 0 : 1024);
    const resolve = addressResolver(map, g, tensorAddr);
    const op = resolveOp(g.nodes[0]!.op!, resolve);
    expect(op).toMatchObject({
      kind: "igemm",
      ind: map.indirectionAddr[0],
      w: map.weightDst[0],
      c: map.arenaAddr + 1024,
    });
    expect(() => resolve({ block: "g:none" })).toThrow(/plan: no parameter block g:none/);
    const view = new Uint32Array(map.totalBytes >>> 2);
    fillIndirection(g.indirection[0]!, view, map.indirectionAddr[0]!, map.arenaAddr, map.zeroAddr);
    const first = view.subarray(map.indirectionAddr[0]! >>> 2, (map.indirectionAddr[0]! >>> 2) + 9);
    // output pixel (0, 0): the top row and left column of taps fall into the padding
    const z = map.zeroAddr;
    const x = map.arenaAddr;
    expect([...first]).toEqual([z, z, z, z, x, x + 4, z, x + 32, x + 36]);
  });
});
