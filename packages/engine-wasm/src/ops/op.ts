/**
 * What the engine knows of one graph op, in one place: the checks of its fields in a file, its
 * output shape, its lowering to kernel calls per precision, and its float64 reference.
 */
import type { LayerSpec } from "../arch.js";
import type { TensorData } from "../format.js";
import type { Precision } from "../plan/types.js";
import type { RefTensor } from "../reference.js";
import type { Lowering } from "./lowering.js";

export type Op = LayerSpec["op"];
export type LayerOf<K extends Op> = Extract<LayerSpec, { op: K }>;

/** Checks of a layer's fields read from a file; each fails with `bad` and a one-line message. */
export interface FieldChecks {
  /** The layer's fields, untrusted. */
  fields: Record<string, unknown>;
  /** "layer NAME", to start a message. */
  where: string;
  bad(message: string): never;
  /** Two integers in 1..MAX_DIM. */
  pair(key: string): void;
  /** A positive integer. */
  count(key: string): void;
  flag(key: string): void;
  /** "same" or "valid". */
  padding(): void;
}

export interface OpDef<K extends Op> {
  /** Field checks beyond the name and inputs (which every op has). */
  validate(c: FieldChecks): void;
  /** Output shape from the input shapes (in `inputs` order); a one-line error on a bad input. */
  outputShape(l: LayerOf<K>, inputs: number[][]): number[];
  /** Kernel calls of the layer in precision `p` (f32 where the op has no other). */
  lower(s: Lowering, l: LayerOf<K>, p: Precision): void;
  /** Float64 reference of the layer (weights `<name>.weight` / `<name>.bias`). */
  reference(l: LayerOf<K>, inputs: RefTensor[], weights: (name: string) => TensorData): RefTensor;
}

/** The input tensor names of a layer. */
export const layerInputs = (l: LayerSpec): string[] => (l.op === "add" ? l.inputs : [l.input]);
