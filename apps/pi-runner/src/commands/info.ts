/** pi-runner info: what a model file holds, after checking its header and every tensor checksum. */
import { parseCommandLine, requireRegularFile, UsageError } from "./args.js";
import { mib } from "./format.js";
import { COMMON_HELP, LOAD_HELP, LOAD_OPTIONS, loadClassifier } from "./model-options.js";

export const INFO_HELP = `usage: pi-runner info M.eam [options]

Prints the architecture, labels, Mel configuration, provenance, tensors and memory plan of a
model file, after checking its header and every tensor checksum (as the engine's readModel does).

options:
${LOAD_HELP}
${COMMON_HELP}`;

export async function infoCommand(args: string[]): Promise<number> {
  const parsed = parseCommandLine("info", args, LOAD_OPTIONS, INFO_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError("give exactly one model file: pi-runner info M.eam");
  const path = requireRegularFile(positionals[0]!, "a model file", "give a .eam model file");
  const clf = await loadClassifier(path, values, { verify: true });
  try {
    const i = clf.model.info();
    const h = clf.model.header;
    const doc = {
      file: path,
      format: i.formatVersion,
      fileBytes: i.fileBytes,
      arch: i.arch,
      labels: i.labels,
      input: i.input,
      output: i.output,
      mel: clf.mel,
      cropSeconds: clf.cropSeconds,
      params: i.params,
      macs: i.macs,
      ops: i.ops,
      memory: {
        weightBytes: i.weightBytes,
        arenaBytes: i.arenaBytes,
        peakLiveBytes: i.peakLiveBytes,
        wasmBytes: i.memoryBytes,
      },
      provenance: i.provenance,
      metadata: Object.fromEntries([...h.metadata].filter(([k]) => !k.startsWith("eam."))),
      tensors: h.tensors.length,
      dtypes: countBy(h.tensors.map((t) => t.dtype)),
    };
    if (values.json) {
      console.log(JSON.stringify(doc));
      return 0;
    }
    console.log(
      `file        ${doc.file} (${(i.fileBytes / 2 ** 20).toFixed(2)} MiB, format ${i.formatVersion})`,
    );
    console.log(`arch        ${keyValues(i.arch)}`);
    console.log(
      `input       ${i.input.name} [${i.input.shape}] = ${clf.nMels} Mel bands x ${clf.cropFrames} frames (${clf.cropSeconds.toFixed(2)} s)`,
    );
    console.log(`output      ${i.output.name} [${i.output.shape}]`);
    console.log(`labels      ${i.labels.join(", ")}`);
    console.log(`mel         ${keyValues(clf.mel)}`);
    console.log(`params      ${(i.params / 1e6).toFixed(2)} M, ${(i.macs / 1e9).toFixed(3)} GMAC per crop`);
    console.log(`ops         ${entries(i.ops.byKind)}`);
    console.log(`tensors     ${doc.tensors} (${entries(doc.dtypes)})`);
    console.log(
      `memory      weights ${mib(i.weightBytes)}, activation arena ${mib(i.arenaBytes)} (largest live set ${mib(i.peakLiveBytes)}), wasm total ${mib(i.memoryBytes)}`,
    );
    const prov = Object.entries(i.provenance ?? {});
    if (prov.length === 0) console.log("provenance  none recorded");
    for (const [n, [k, v]] of prov.entries())
      console.log(`${(n === 0 ? "provenance" : "").padEnd(12)}${k}: ${valueText(v)}`);
  } finally {
    await clf.dispose();
  }
  return 0;
}

function entries(o: Record<string, number>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

function countBy(xs: string[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const x of xs) o[x] = (o[x] ?? 0) + 1;
  return o;
}

/** `key value, key value` for a flat object read from the file (nested values as key value lists). */
function keyValues(o: unknown): string {
  if (o === null || typeof o !== "object") return valueText(o);
  const parts = Object.entries(o as Record<string, unknown>).map(([k, v]) => `${safe(k)} ${valueText(v)}`);
  return parts.length ? parts.join(", ") : "none";
}

function valueText(v: unknown): string {
  if (typeof v === "string") return safe(v);
  if (v !== null && typeof v === "object")
    return Array.isArray(v) ? v.map(valueText).join(", ") : keyValues(v);
  return String(v);
}

/** A string from the file as data: control characters (line breaks, terminal escapes) shown quoted. */
function safe(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find them
  return /[\u0000-\u001f\u007f-\u009f]/.test(s) ? JSON.stringify(s) : s;
}
