import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clipId, isFolder, labelFolderRoot } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "dsp-dataset-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("labelFolderRoot", () => {
  it("finds GTZAN's genres folders and otherwise keeps the folder itself", () => {
    const plain = join(dir, "plain");
    mkdirSync(join(plain, "blues"), { recursive: true });
    expect(labelFolderRoot(plain)).toBe(plain);
    const kaggle = join(dir, "kaggle");
    mkdirSync(join(kaggle, "Data", "genres_original", "rock"), { recursive: true });
    expect(labelFolderRoot(kaggle)).toBe(join(kaggle, "Data", "genres_original"));
    const both = join(dir, "both");
    mkdirSync(join(both, "genres"), { recursive: true });
    mkdirSync(join(both, "genres_original"), { recursive: true });
    expect(labelFolderRoot(both)).toBe(join(both, "genres"));
  });

  it("ignores a file named like a genres folder", () => {
    const f = join(dir, "file");
    mkdirSync(f);
    writeFileSync(join(f, "genres"), "not a folder");
    expect(isFolder(join(f, "genres"))).toBe(false);
    expect(labelFolderRoot(f)).toBe(f);
  });
});

describe("clipId", () => {
  it("keeps label/name and drops only known audio extensions", () => {
    expect(clipId("genres/blues/blues.00001.au")).toBe("blues/blues.00001");
    expect(clipId("rock\\rock.00002.WAV")).toBe("rock/rock.00002");
    expect(clipId("jazz/jazz.00003.txt")).toBe("jazz/jazz.00003.txt");
    expect(clipId("lonely.mp3")).toBe("lonely");
  });
});
