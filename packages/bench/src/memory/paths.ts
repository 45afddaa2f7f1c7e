/** The command lines the memory benchmarks run, as built in this repository. */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
/** What the `pi-runner` command and the executables run (apps/pi-runner/scripts/bundle.mjs). */
export const PI_RUNNER = join(REPO_ROOT, "apps/pi-runner/bundle/dist/cli.cjs");
export const QUANTIZE_CLI = join(REPO_ROOT, "packages/quantizer/dist/cli.js");
