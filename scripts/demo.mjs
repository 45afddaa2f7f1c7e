// The README's main job. By default it runs on the built-in SYNTHETIC demo corpus: generate it,
// train a small ResNet with the trainer, export the FP32 model file, and evaluate the held-out
// clips with pi-runner (dsp + engine only), then print and write the study-style tables.
// Every step runs a package's own command line, so the demo shows exactly what users get.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const HELP = `usage: npm run demo [-- --out DIR] [-- --data DIR]

Runs the main job and writes its results to DIR (default: out/demo):
  1. a log-Mel spectrogram of a synthetic clip (dsp)              DIR/demo-mel.png
  2. the SYNTHETIC demo corpus, a small ResNet trained on it,
     exported as an FP32 model file (trainer)                      DIR/data, DIR/run, DIR/model.eam
  3. fp16, dynamic, int8-tensor, int8 and mixed variants with the
     quantizer's Table 1 report and accuracy-vs-size plot          DIR/variants/
  4. pi-runner eval of the held-out clips for every variant        DIR/eval-<variant>.json
  and the study-style tables                                       DIR/report.md, DIR/report.json

--data DIR trains on real audio in GTZAN layout instead of the synthetic corpus
(ResNet-18, width 0.25, 30 epochs, 80/20 split; expect a long run on two cores).`;

let opts;
try {
  opts = parseArgs({
    options: { out: { type: "string" }, data: { type: "string" }, help: { type: "boolean", short: "h" } },
  }).values;
} catch (e) {
  console.error(`demo: ${e.message}\n\n${HELP}`);
  process.exit(2);
}
if (opts.help) {
  console.log(HELP);
  process.exit(0);
}
const out = resolve(opts.out ?? "out/demo");
mkdirSync(out, { recursive: true });
const t0 = performance.now();

/** Runs a command, streaming its stderr (progress) and returning its stdout. */
function run(title, args) {
  console.error(`\n== ${title}\n$ node ${args.join(" ")}`);
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    p.stdout.on("data", (d) => {
      stdout += d;
    });
    p.on("close", (code) =>
      code === 0
        ? res(stdout)
        : rej(new Error(`step "${title}" failed (exit ${code}); see the messages above`)),
    );
  });
}

function lastJson(text) {
  const start = text.lastIndexOf("\n{") + 1;
  return JSON.parse(text.slice(start));
}

try {
  await run("1/4 log-Mel front-end on a synthetic clip", ["packages/dsp/dist/cli.js", "demo", "--out", out]);
  let trained;
  if (opts.data) {
    const runDir = join(out, "run");
    const r = lastJson(
      await run(`2/4 training on ${opts.data}`, [
        "packages/trainer/dist/cli.js",
        "train",
        "--data",
        opts.data,
        "--out",
        runDir,
        "--arch",
        "resnet18",
        "--width",
        "0.25",
        "--epochs",
        "30",
        "--json",
      ]),
    );
    await run("export", [
      "packages/trainer/dist/cli.js",
      "export",
      "--run",
      runDir,
      "--out",
      join(out, "model.eam"),
    ]);
    trained = {
      data: opts.data,
      model: join(out, "model.eam"),
      testAccuracy: r.runs?.[0]?.testAccuracy ?? r.testAccuracy,
      synthetic: false,
    };
  } else {
    trained = lastJson(
      await run("2/4 SYNTHETIC demo corpus, training and FP32 export", [
        "packages/trainer/dist/cli.js",
        "demo",
        "--out",
        out,
        "--json",
      ]),
    );
  }
  const info = lastJson(
    await run("pi-runner info", ["apps/pi-runner/dist/cli.js", "info", trained.model, "--json"]),
  );
  const variantsDir = join(out, "variants");
  const quant = lastJson(
    await run("3/4 quantizer: fp16, dynamic, int8-tensor, int8 and mixed variants, their report and plot", [
      "packages/quantizer/dist/cli.js",
      "report",
      "--model",
      trained.model,
      "--data",
      trained.data,
      "--out",
      variantsDir,
      "--threads",
      "1", // the study's setting, and the quantizer's default before the common --threads rule
      "--json",
    ]),
  );
  const variants = [
    ["fp32", trained.model],
    ...["fp16", "dynamic", "int8-tensor", "int8", "mixed"].map((m) => [
      m,
      join(variantsDir, `model-${m}.eam`),
    ]),
  ];
  const runnerRows = [];
  for (const [name, file] of variants) {
    const ev = lastJson(
      await run(`4/4 pi-runner eval of the held-out clips: ${name}`, [
        "apps/pi-runner/dist/cli.js",
        "eval",
        "--model",
        file,
        "--data",
        trained.data,
        "--split",
        "test",
        "--json",
        "--threads",
        "1",
      ]),
    );
    writeFileSync(join(out, `eval-${name}.json`), `${JSON.stringify(ev, null, 2)}\n`);
    runnerRows.push({ name, file, bytes: statSync(file).size, ev });
  }

  const dataNote =
    trained.synthetic === false
      ? `real audio from ${trained.data}`
      : "the built-in SYNTHETIC demo corpus (not GTZAN)";
  const mb = (b) => (b / 1e6).toFixed(3);
  const pct = (x) => (x === undefined || x === null ? "n/a" : `${(100 * x).toFixed(1)} %`);
  const fp32Acc = runnerRows[0].ev.accuracy;
  const table1 = readFileSync(join(variantsDir, "report.md"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("|"))
    .slice(0, 2 + variants.length);
  const md = [
    "# edge-audio main job",
    "",
    `Data: ${dataNote}. Model: ${info.arch ? `ResNet-${info.arch.depth}, width ${info.arch.width}` : "?"}, ` +
      `${(info.params / 1e6).toFixed(3)} M parameters, input ${info.input.shape.join("x")} log-Mel crop. ` +
      `Held-out clips: ${runnerRows[0].ev.clips}; clip accuracy of the trained model in tfjs on them: ${pct(trained.testAccuracy)}.`,
    "",
    "## Variants (the study's Table 1): accuracy, agreement with FP32, size",
    "",
    ...table1,
    "",
    `Accuracy vs size (the study's Figure 3): [${relative(out, join(variantsDir, "accuracy-vs-size.svg"))}](${relative(out, join(variantsDir, "accuracy-vs-size.svg"))})`,
    "",
    "## On the device runner (the study's Tables 2 and 3): pi-runner, no TensorFlow, 1 thread",
    "",
    "| variant | file MB | clip accuracy | change vs FP32 | ms per clip | load ms | peak RSS MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...runnerRows.map(
      (r) =>
        `| ${r.name} | ${mb(r.bytes)} | ${pct(r.ev.accuracy)} | ${((r.ev.accuracy - fp32Acc) * 100).toFixed(1)} pts | ` +
        `${r.ev.msPerClip.toFixed(1)} | ${r.ev.msLoad.toFixed(0)} | ${r.ev.peakRssMB.toFixed(0)} |`,
    ),
    "",
    "Study (ResNet-152 on GTZAN, TensorFlow Lite on a Raspberry Pi 4): FP32 78 % / 256 MB, FP16 78 % / 116 MB,",
    "dynamic 77.5 % / 59 MB, full INT8 6 % (per-tensor scales); 2.7-4.5 GB of RAM. Our ResNet-152 figures:",
    "packages/quantizer/README.md, packages/bench/results/runner-memory.md and docs/reproduction.md.",
    "",
    `Total time: ${((performance.now() - t0) / 1000).toFixed(0)} s.`,
  ].join("\n");
  writeFileSync(join(out, "report.md"), `${md}\n`);
  const runner = runnerRows.map((r) => ({ variant: r.name, bytes: r.bytes, ...r.ev }));
  writeFileSync(
    join(out, "report.json"),
    `${JSON.stringify({ data: dataNote, trained, info, variants: quant, runner }, null, 2)}\n`,
  );
  console.log(
    `\n${md}\n\nWritten to ${out}: report.md, report.json, eval-<variant>.json, model.eam, variants/, demo-mel.png`,
  );
} catch (e) {
  console.error(`demo: ${e.message}`);
  process.exit(1);
}
