/**
 * Backend selection: tfjs-node when it can be imported, else the tfjs wasm backend with our
 * Conv2DBackpropFilter kernel, else the pure-JS cpu backend. The same training code runs on
 * all three.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";

export type BackendName = "node" | "wasm" | "cpu";
export const BACKEND_NAMES: readonly BackendName[] = ["node", "wasm", "cpu"];

export interface BackendInfo {
  /** The backend asked for, or "auto". */
  requested: BackendName | "auto";
  /** The backend in use. */
  name: BackendName;
  /** tfjs' own name for it ("tensorflow", "wasm", "cpu"). */
  tfName: string;
  /** Why this one was chosen (and why the better ones were not). */
  note: string;
}

const require = createRequire(import.meta.url);

let wasmPrepared = false;

/** The directory that holds the wasm backend's .wasm binaries, for `setWasmPaths`. */
export function wasmBinaryDir(): string {
  const entry = require.resolve("@tensorflow/tfjs-backend-wasm");
  // entry is .../tfjs-backend-wasm/dist/(index.js|tf-backend-wasm.node.js)
  return `${dirname(entry)}/`;
}

async function prepareWasm(): Promise<void> {
  if (wasmPrepared) return;
  const wasmMod = await import("@tensorflow/tfjs-backend-wasm");
  const dir = wasmBinaryDir();
  wasmMod.setWasmPaths(dir.endsWith("/") ? dir : join(dir, "/"));
  registerWasmConv2DBackpropFilter();
  wasmPrepared = true;
}

async function tryNode(): Promise<string | null> {
  try {
    // A variable specifier keeps TypeScript from requiring the optional package's types.
    const name = "@tensorflow/tfjs-node";
    await import(name);
    return null;
  } catch (e) {
    return (e as Error).message.split("\n")[0] ?? "not importable";
  }
}

/**
 * Selects and initialises a backend. `auto` tries node, then wasm, then cpu. An explicit
 * name that cannot be used is an error, not a silent fallback.
 */
export async function setupBackend(requested: BackendName | "auto" = "auto"): Promise<BackendInfo> {
  const notes: string[] = [];
  registerBatchNormGradient();
  if (requested === "node" || requested === "auto") {
    const err = await tryNode();
    if (err === null && tf.findBackend("tensorflow")) {
      await tf.setBackend("tensorflow");
      await tf.ready();
      return { requested, name: "node", tfName: "tensorflow", note: "@tensorflow/tfjs-node (native)" };
    }
    const why = err ?? "imported, but registered no 'tensorflow' backend";
    if (requested === "node") {
      throw new Error(
        `backend "node" is not available: @tensorflow/tfjs-node could not be loaded (${why}). ` +
          "Install it with `npm install @tensorflow/tfjs-node` on a machine with internet access, " +
          "or pass --backend wasm.",
      );
    }
    notes.push("tfjs-node not importable");
  }
  if (requested === "wasm" || requested === "auto") {
    try {
      await prepareWasm();
      const ok = await tf.setBackend("wasm");
      if (!ok) throw new Error("tf.setBackend('wasm') returned false");
      await tf.ready();
      notes.push("wasm backend with our Conv2DBackpropFilter kernel");
      return { requested, name: "wasm", tfName: "wasm", note: notes.join("; ") };
    } catch (e) {
      if (requested === "wasm") {
        throw new Error(`backend "wasm" failed to initialise: ${(e as Error).message}`);
      }
      notes.push(`wasm failed: ${(e as Error).message}`);
    }
  }
  await tf.setBackend("cpu");
  await tf.ready();
  notes.push("pure-JS cpu backend (slow)");
  return { requested, name: "cpu", tfName: "cpu", note: notes.join("; ") };
}

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape: [number, number, number, number];
}

/**
 * The filter gradient of a 2-D convolution, dW[kh,kw,ci,co] = sum over n,oh,ow of
 * x[n, oh*sh + kh - padTop, ow*sw + kw - padLeft, ci] * dy[n, oh, ow, co], computed as im2col
 * followed by one matrix product: the kh*kw strided views of the padded input are stacked along
 * channels into [N*OH*OW, KH*KW*Cin] (the HWIO row order), and dW = cols^T . dy.
 * Built from kernels the backend already has (pad, strided slice, concat, batched matmul).
 */
export function conv2DBackpropFilterViaIm2col(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: Conv2DBackpropFilterAttrs["pad"],
  dimRoundingMode?: "floor" | "round" | "ceil",
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      "channelsLast",
    );
    const { padInfo, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
    const [kh, kw, cin, cout] = filterShape;
    const n = x.shape[0];
    // Pad so that every tap the forward pass read exists; extra rows or columns past the
    // right or bottom edge are never reached by the strided views below.
    const needH = (oh - 1) * sh + kh;
    const needW = (ow - 1) * sw + kw;
    const bottom = Math.max(0, needH - x.shape[1] - padInfo.top);
    const right = Math.max(0, needW - x.shape[2] - padInfo.left);
    const xp =
      padInfo.top || bottom || padInfo.left || right
        ? tf.pad(x, [
            [0, 0],
            [padInfo.top, bottom],
            [padInfo.left, right],
            [0, 0],
          ])
        : x;
    // Crop to exactly the rows and columns the forward pass read.
    const xc =
      xp.shape[1] !== needH || xp.shape[2] !== needW
        ? tf.slice(xp, [0, 0, 0, 0], [n, needH, needW, cin])
        : xp;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1) {
      const m = n * oh * ow;
      const dw = tf.matMul(tf.reshape(xc, [m, cin]), tf.reshape(dy, [m, cout]), true, false);
      return tf.reshape(dw, [kh, kw, cin, cout]);
    }
    // Correlate the input (batch <-> channels swapped) with dy used as a filter dilated by
    // the stride: out[ci, i, j, co] = sum over oh,ow,n of x[n, i + oh*sh, j + ow*sw, ci] * dy[n, oh, ow, co].
    const xt = tf.transpose(xc, [3, 1, 2, 0]) as tf.Tensor4D;
    const ft = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    const out = tf.conv2d(xt, ft, 1, "valid", "NHWC", [sh, sw]);
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/**
 * The input gradient of a 2-D convolution (a transposed convolution), computed as a stride-1
 * convolution of the zero-upsampled, fully padded dy with the filter rotated by 180 degrees
 * and its in/out channels swapped. This uses the backend's fast forward convolution; the wasm
 * backend's own Conv2DBackpropInput is a plain loop and several times slower.
 */
export function conv2DBackpropInputViaConv(
  inputShape: [number, number, number, number],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: [number, number] | number,
  pad: Conv2DBackpropFilterAttrs["pad"],
  dimRoundingMode?: "floor" | "round" | "ceil",
): tf.Tensor4D {
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      "channelsLast",
    );
    const { padInfo, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
    const [n, h, w, cin] = inputShape;
    const [kh, kw, , cout] = filter.shape;
    let up: tf.Tensor4D = dy;
    if (sh > 1 || sw > 1) {
      // Insert stride-1 zeros between the rows and columns of dy.
      const d6 = tf.reshape(dy, [n, oh, 1, ow, 1, cout]);
      const p6 = tf.pad(d6, [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      up = tf.slice(
        tf.reshape(p6, [n, oh * sh, ow * sw, cout]) as tf.Tensor4D,
        [0, 0, 0, 0],
        [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, cout],
      );
    }
    const full = tf.pad(up, [
      [0, 0],
      [kh - 1, kh - 1],
      [kw - 1, kw - 1],
      [0, 0],
    ]);
    const rot = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    if (sh === 1 && sw === 1 && pad === "same" && kh % 2 === 1 && kw % 2 === 1) {
      // Symmetric padding: the full correlation cropped to the input is a "same" convolution.
      return tf.conv2d(dy, rot, 1, "same");
    }
    // r covers the padded input rows 0 .. (oh-1)*sh + kh - 1.
    const r = tf.conv2d(full, rot, 1, "valid");
    const rh = r.shape[1];
    const rw = r.shape[2];
    const top = padInfo.top;
    const left = padInfo.left;
    const takeH = Math.min(h, rh - top);
    const takeW = Math.min(w, rw - left);
    let dx: tf.Tensor4D = tf.slice(r, [0, top, left, 0], [n, takeH, takeW, cin]);
    if (takeH < h || takeW < w) {
      dx = tf.pad(dx, [
        [0, 0],
        [0, h - takeH],
        [0, w - takeW],
        [0, 0],
      ]);
    }
    return dx;
  });
}

let registered = false;

/** Registers Conv2DBackpropFilter for the wasm backend (it ships without one). Idempotent. */
export function registerWasmConv2DBackpropFilter(): void {
  if (registered) return;
  const exists = tf.getKernelsForBackend("wasm").some((k) => k.kernelName === "Conv2DBackpropFilter");
  if (!exists) {
    tf.registerKernel({
      kernelName: "Conv2DBackpropFilter",
      backendName: "wasm",
      kernelFunc: ({ inputs, attrs }) => {
        const { x, dy } = inputs as { x: tf.Tensor4D; dy: tf.Tensor4D };
        const a = attrs as unknown as Conv2DBackpropFilterAttrs;
        if (a.dataFormat && a.dataFormat !== "NHWC") {
          throw new Error(`Conv2DBackpropFilter (wasm): only NHWC is supported, got ${a.dataFormat}`);
        }
        // Returning a Tensor (not a bare TensorInfo) hands ownership straight to the engine.
        return conv2DBackpropFilterViaIm2col(
          x,
          dy,
          a.filterShape,
          a.strides,
          a.pad,
          a.dimRoundingMode,
        ) as unknown as tf.TensorInfo;
      },
    });
  }
  // Replace the wasm backend's slow input gradient, where the stride is 1 and the padding
  // symmetric, by one built on its fast forward conv; keep the original for the rest.
  const original = tf.getKernel("Conv2DBackpropInput", "wasm");
  if (!original) throw new Error("the wasm backend has no Conv2DBackpropInput kernel to wrap");
  tf.unregisterKernel("Conv2DBackpropInput", "wasm");
  tf.registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    // The original's setup binds its wasm function; it runs when the backend initialises.
    setupFunc: original.setupFunc,
    kernelFunc: (args) => {
      const { inputs, attrs } = args;
      const { dy, filter } = inputs as { dy: tf.Tensor4D; filter: tf.Tensor4D };
      const a = attrs as unknown as Conv2DBackpropFilterAttrs & {
        inputShape: [number, number, number, number];
      };
      if (a.dataFormat && a.dataFormat !== "NHWC") {
        throw new Error(`Conv2DBackpropInput (wasm): only NHWC is supported, got ${a.dataFormat}`);
      }
      const [kh, kw] = filter.shape;
      const stride1 =
        a.strides === 1 || (Array.isArray(a.strides) && a.strides[0] === 1 && a.strides[1] === 1);
      if (!(stride1 && a.pad === "same" && kh % 2 === 1 && kw % 2 === 1)) {
        return original.kernelFunc(args);
      }
      return conv2DBackpropInputViaConv(
        a.inputShape,
        dy,
        filter,
        a.strides,
        a.pad,
        a.dimRoundingMode,
      ) as unknown as tf.TensorInfo;
    },
  });
  registered = true;
}

/** Kernels the cpu backend has and the given backend lacks (for diagnostics and tests). */
export function missingKernels(backendName: string, reference = "cpu"): string[] {
  const have = new Set(tf.getKernelsForBackend(backendName).map((k) => k.kernelName));
  return tf
    .getKernelsForBackend(reference)
    .map((k) => k.kernelName)
    .filter((k) => !have.has(k));
}

let bnGradRegistered = false;

/**
 * A gradient for FusedBatchNorm (channels-last, per-channel statistics) that broadcasts the
 * per-channel factors instead of tiling them to the input's full size as tfjs' own gradient
 * does; the same maths with fewer full-size products. Applies to every backend.
 */
export function registerBatchNormGradient(): void {
  if (bnGradRegistered) return;
  tf.registerGradient({
    kernelName: "FusedBatchNorm",
    inputsToSave: ["x", "mean", "variance", "scale"],
    gradFunc: (dy, saved, attrs) => {
      const g = dy as tf.Tensor;
      const [x, mean, variance, scale] = saved as tf.Tensor[];
      const eps = (attrs as { varianceEpsilon: number }).varianceEpsilon;
      const scaleValue = scale ?? tf.scalar(1);
      const perChannel = mean!.rank === 1;
      const axes = perChannel ? Array.from({ length: x!.rank - 1 }, (_, i) => i) : [];
      const reduce = (t: tf.Tensor): tf.Tensor => (perChannel ? tf.sum(t, axes) : t);
      const rs = tf.rsqrt(tf.add(variance!, tf.scalar(eps)));
      // Each derivative runs in its own tidy scope, so shared sums are recomputed, not cached.
      const getSumDy = () => reduce(g);
      const getSumDyXm = () => reduce(tf.mul(g, tf.sub(x!, mean!)));
      return {
        x: () => tf.reshape(tf.mul(g, tf.mul(rs, scaleValue)), x!.shape),
        mean: () => tf.reshape(tf.mul(tf.neg(tf.mul(rs, scaleValue)), getSumDy()), mean!.shape),
        variance: () =>
          tf.reshape(
            tf.mul(tf.mul(tf.mul(tf.pow(rs, tf.scalar(3)), tf.scalar(-0.5)), scaleValue), getSumDyXm()),
            mean!.shape,
          ),
        scale: () => tf.reshape(tf.mul(rs, getSumDyXm()), mean!.shape),
        offset: () => tf.reshape(getSumDy(), mean!.shape),
      };
    },
  });
  bnGradRegistered = true;
}
