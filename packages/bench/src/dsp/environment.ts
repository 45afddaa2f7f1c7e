import { cpus, loadavg } from "node:os";
import { kernelFlavour } from "@edge-audio/dsp";

/** The machine facts a dsp benchmark records beside its figures. */
export interface DspBenchEnvironment {
  node: string;
  cpu: string;
  cores: number;
  /** A string, so that the JSON file stays in the repository formatter's style. */
  loadAvgAtStart: string;
  kernel: string;
  date: string;
}

export function dspBenchEnvironment(): DspBenchEnvironment {
  return {
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    loadAvgAtStart: loadAvgText(),
    kernel: kernelFlavour(),
    date: new Date().toISOString(),
  };
}

/** The three load averages, two decimals each. */
export function loadAvgText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}
