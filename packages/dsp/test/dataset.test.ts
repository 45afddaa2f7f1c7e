import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { clipId, isFolder, labelFolderRoot, listLabelledAudio } from "../src/index.js";

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

describe("listLabelledAudio", () => {
  it("lists label/audio files sorted, follows symlinks, leaves out hidden names and reports what is not a file", () => {
    const root = join(dir, "labelled");
    mkdirSync(join(root, "rock"), { recursive: true });
    mkdirSync(join(root, ".trash"), { recursive: true });
    mkdirSync(join(dir, "elsewhere"), { recursive: true });
    writeFileSync(join(dir, "elsewhere", "b.flac"), "x");
    symlinkSync(join(dir, "elsewhere"), join(root, "blues"));
    for (const f of ["rock.2.wav", "rock.1.MP3", "notes.txt", "._rock.1.wav"])
      writeFileSync(join(root, "rock", f), "x");
    writeFileSync(join(root, ".trash", "t.wav"), "x");
    writeFileSync(join(root, "loose.wav"), "x");
    symlinkSync(join(dir, "missing.wav"), join(root, "rock", "rock.3.wav"));
    mkdirSync(join(root, "rock", "rock.4.au"));
    const { clips, skipped } = listLabelledAudio(root);
    expect(clips).toEqual([
      { path: join(root, "blues", "b.flac"), label: "blues", id: "blues/b" },
      { path: join(root, "rock", "rock.1.MP3"), label: "rock", id: "rock/rock.1" },
      { path: join(root, "rock", "rock.2.wav"), label: "rock", id: "rock/rock.2" },
    ]);
    expect(skipped).toEqual([
      { path: join(root, "rock", "rock.3.wav"), reason: "a dangling symlink (its target does not exist)" },
      { path: join(root, "rock", "rock.4.au"), reason: "a folder with an audio file's name" },
    ]);
  });
});
