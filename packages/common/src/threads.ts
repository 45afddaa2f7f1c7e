import { availableParallelism } from "node:os";

/**
 * The one `--threads` rule of every edge-audio command: the default is the machine's core count
 * (`os.availableParallelism()`), 0 and negative numbers are refused, and a count above the core
 * count is lowered to it with a warning (more threads than cores only adds memory and start-up time).
 */
export function coreCount(): number {
  return Math.max(1, availableParallelism());
}

export interface ThreadChoice {
  threads: number;
  /** Set when the request was lowered to the core count. */
  warning?: string;
}

/** Applies the rule to a parsed whole number (undefined = not given). */
export function chooseThreads(requested: number | undefined, cores = coreCount()): ThreadChoice {
  if (requested === undefined) return { threads: cores };
  if (requested > cores)
    return {
      threads: cores,
      warning: `--threads ${requested} is more than the ${cores} cores of this machine; using ${cores}`,
    };
  return { threads: requested };
}
