import { train } from "/work/main/packages/trainer/dist/train.js";

const r = await train({
  data: process.argv[2],
  out: process.argv[3],
  epochs: Number(process.argv[4] ?? 3),
  width: Number(process.argv[5] ?? 0.25),
  backend: process.argv[6] ?? "auto",
  folds: Number(process.argv[7] ?? 0) || undefined,
});
console.log(JSON.stringify({ acc: r.meanAccuracy, s: r.totalSeconds }));
