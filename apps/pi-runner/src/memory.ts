import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Peak resident memory of this process in bytes. On Linux this is VmHWM from /proc/self/status,
 * the high-water mark of this process's own address space; getrusage's ru_maxrss is not used
 * there because it keeps the parent's high-water mark across fork and exec.
 */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Keeps V8's young generation at its initial size (two 1 MiB semi-spaces) instead of letting it
 * double up to 16 MiB when many objects survive a scavenge, as they do while a model header is
 * parsed and planned. The runner's JavaScript allocates little: the young generation grown for
 * loading would only hold garbage afterwards, and its pages stay resident. Node takes no V8 flags
 * on the command line of a single-executable binary, so this is set from inside; the growth
 * factor is read each time the young generation would grow, so it applies from this call on.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}

let gcFunction: (() => void) | null | undefined;

/**
 * A full garbage collection now. The runner's per-clip buffers (file bytes, samples,
 * spectrogram) are ArrayBuffers outside the JavaScript heap: V8 frees them only when a
 * collection finds them dead, and with a quiet heap it may not collect until tens of MiB of them
 * have piled up. Collecting after loading the model and after every clip keeps the resident
 * memory at the model plus one clip. Returns false where no collection could be requested.
 */
export function collectGarbage(): boolean {
  if (gcFunction === undefined) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (typeof g === "function") gcFunction = g;
    else {
      try {
        // --expose-gc applies to contexts created afterwards: make one, take its gc, and turn the
        // flag off again so that no later context sees a gc global.
        setFlagsFromString("--expose-gc");
        const f = runInNewContext("gc") as unknown;
        gcFunction = typeof f === "function" ? (f as () => void) : null;
      } catch {
        gcFunction = null;
      } finally {
        setFlagsFromString("--no-expose-gc");
      }
    }
  }
  if (!gcFunction) return false;
  gcFunction();
  return true;
}
