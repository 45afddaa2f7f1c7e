// Writes generated files, or with `check` fails when a committed one differs (build and tests).
import * as fs from "node:fs";
import * as path from "node:path";

/** files: package-relative path -> text; script: the generator's name, for the message. */
export function writeOrCheck(root, files, script, check) {
  const stale = [];
  for (const [name, text] of files) {
    const file = path.join(root, name);
    if (!check) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    } else if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text) stale.push(name);
  }
  if (stale.length > 0) {
    console.error(
      `${stale.join(", ")}: differs from what scripts/${script} generates; run \`node scripts/${script}\` in packages/engine-wasm and commit the result`,
    );
    process.exit(1);
  }
}
