#!/usr/bin/env node
// The `pi-runner` command. Committed (not built) so that npm links it at install time, before
// `npm run build` writes the bundle. It runs bundle/dist/cli.cjs (scripts/bundle.mjs), the same
// single file the executables carry; dist/cli.js is the unbundled build it is made from.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../bundle/dist/cli.cjs", import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write("pi-runner: not built yet; run `npm run build` in the repository first\n");
  process.exit(1);
}
createRequire(cli)(cli);
