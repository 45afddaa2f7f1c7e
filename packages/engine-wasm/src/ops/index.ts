/**
 * The op registry: every graph op the engine runs, by name. The file reader validates layers,
 * the planner lowers them and the float64 reference runs them through this table only; a new op
 * is one module here plus its kernels.
 */
import { add } from "./add.js";
import { conv } from "./conv.js";
import { dense } from "./dense.js";
import { dropout } from "./dropout.js";
import { gap } from "./gap.js";
import { maxpool } from "./maxpool.js";
import type { Op, OpDef } from "./op.js";
import { softmax } from "./softmax.js";

export const OPS: { readonly [K in Op]: OpDef<K> } = { conv, maxpool, add, gap, dropout, dense, softmax };

/** Whether `op` (read from a file) names an op of the registry. */
export const isKnownOp = (op: unknown): op is Op => typeof op === "string" && Object.hasOwn(OPS, op);

/** The registry entry of an op, typed for any layer. */
export const opDef = (op: Op): OpDef<Op> => OPS[op] as OpDef<Op>;

export { type FieldChecks, type LayerOf, layerInputs, type Op, type OpDef } from "./op.js";
