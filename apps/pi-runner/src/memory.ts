import { readFileSync } from "node:fs";

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
