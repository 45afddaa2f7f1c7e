/** Worker thread: instantiates the kernels on the shared memory and runs its slice of every op. */
import { parentPort, workerData } from "node:worker_threads";
import { Barrier, buildSteps, CTL, CTL_STOP, runSteps } from "./executor.js";
import type { OpRecord } from "./plan.js";
import { instantiateRelaxed } from "./relaxed.js";
import { instantiate } from "./wasm.js";

interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ops: OpRecord[];
  barrierAfter: boolean[];
  tile: number;
  tid: number;
  threads: number;
  controlAddr: number;
  /** The relaxed-SIMD module (the one its self-check ran in), when the plan uses it. */
  relaxedModule: WebAssembly.Module | null;
  /** The tile of the FMA kernels when the plan's f32 GEMMs run on them, else null. */
  fmaTile: number | null;
}

const init = workerData as WorkerInit;
const k = instantiate(init.module, init.memory);
const ctl = new Int32Array(init.memory.buffer);
const base = init.controlAddr >>> 2;
const rk = init.relaxedModule ? instantiateRelaxed(init.relaxedModule, init.memory) : undefined;
const fma = rk && init.fmaTile !== null ? { rk, tile: init.fmaTile } : undefined;
const steps = buildSteps(k, init.ops, init.tile, init.tid, init.threads, rk, fma);
const barrier = new Barrier(ctl, base, init.threads);
// Read the run counter before announcing readiness: the first run may start right after.
let seen = Atomics.load(ctl, base + CTL.RUN);
parentPort!.postMessage("ready");
for (;;) {
  Atomics.wait(ctl, base + CTL.RUN, seen);
  const run = Atomics.load(ctl, base + CTL.RUN);
  if (run === CTL_STOP) break;
  if (run === seen) continue;
  seen = run;
  const err = runSteps(steps, init.barrierAfter, barrier);
  if (err !== undefined) {
    Atomics.store(ctl, base + CTL.ERROR, init.tid);
    parentPort!.postMessage({ error: String(err instanceof Error ? err.stack : err) });
  }
}
