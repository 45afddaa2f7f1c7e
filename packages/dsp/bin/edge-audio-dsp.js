#!/usr/bin/env node
// The `edge-audio-dsp` command. Committed (not built) so that npm links it at install time, before
// `npm run build` writes dist/.
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("edge-audio-dsp: not built yet; run `npm run build` in the repository first\n");
  process.exit(1);
}
await import(cli.href);
