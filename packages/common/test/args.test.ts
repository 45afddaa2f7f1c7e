import { describe, expect, it } from "vitest";
import {
  type CommandSpec,
  joinNegativeValues,
  type OptionSpecs,
  parseCommand,
  parseInteger,
  parseNumber,
  parseOptions,
  UsageError,
} from "../src/index.js";

const quietCtx = { warn: () => {}, cores: 4 };

describe("numbers", () => {
  it("takes whole numbers in digits only", () => {
    expect(parseInteger("--epochs", "20")).toBe(20);
    expect(parseInteger("--gain", "-12")).toBe(-12);
    for (const bad of ["1e3", "1.5", "0x10", "", "ten", "1_000", "Infinity"])
      expect(() => parseInteger("--epochs", bad)).toThrow(/--epochs takes a whole number/);
    expect(() => parseInteger("--n", "99999999999999999999")).toThrow(/too large/);
  });

  it("takes decimal numbers with an exponent, finite only", () => {
    expect(parseNumber("--lr", "2e-3")).toBe(0.002);
    expect(parseNumber("--lr", ".5")).toBe(0.5);
    expect(parseNumber("--gain", "-12.5")).toBe(-12.5);
    for (const bad of ["1e999", "NaN", "Infinity", "0x10", "1,5", "", "3 dB"])
      expect(() => parseNumber("--lr", bad)).toThrow(/--lr takes a number/);
  });

  it("checks bounds and names the flag and the bound", () => {
    expect(() => parseInteger("--batch-size", "0", { min: 1 })).toThrow(
      "--batch-size must be at least 1, got 0",
    );
    expect(() => parseNumber("--lr", "0", { above: 0 })).toThrow("--lr must be more than 0, got 0");
    expect(() => parseNumber("--dropout", "1.5", { min: 0, max: 1 })).toThrow(
      "--dropout must be at most 1, got 1.5",
    );
    expect(parseNumber("--dropout", "1", { min: 0, max: 1 })).toBe(1);
  });
});

describe("parseOptions", () => {
  const options = {
    epochs: { type: "integer", min: 1, default: 20 },
    gain: { type: "number" },
    lr: { type: "number", above: 0, default: 0.002 },
    model: { type: "string", required: true, placeholder: "M.eam" },
    split: { type: "string", choices: ["test", "all"] as const, default: "test" },
    depths: { type: "integer-list", min: 1 },
    threads: { type: "threads" },
    cache: { type: "boolean" },
  } satisfies OptionSpecs;

  it("types values and applies defaults", () => {
    const p = parseOptions(["--model", "m.eam"], options, quietCtx);
    const epochs: number = p.values.epochs;
    const split: "test" | "all" = p.values.split;
    const gain: number | undefined = p.values.gain;
    expect([epochs, split, gain, p.values.lr, p.values.threads]).toEqual([20, "test", undefined, 0.002, 4]);
    expect([p.values.json, p.values.quiet, p.values.help, p.values.version, p.values.cache]).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("accepts negative numbers as values", () => {
    const p = parseOptions(["--model", "m", "--gain", "-12", "--lr=3e-4"], options, quietCtx);
    expect(p.values.gain).toBe(-12);
    expect(p.values.lr).toBe(3e-4);
    expect(parseOptions(["--model", "m", "--gain", "-.5"], options, quietCtx).values.gain).toBe(-0.5);
  });

  it("refuses negative and zero counts with the flag's bound, not Node's 'ambiguous'", () => {
    expect(() => parseOptions(["--model", "m", "--epochs", "-2"], options, quietCtx)).toThrow(
      "--epochs must be at least 1, got -2",
    );
    expect(() => parseOptions(["--model", "m", "--epochs", "1e3"], options, quietCtx)).toThrow(
      /whole number.*"1e3"/,
    );
  });

  it("says how to pass a value starting with a dash to a string flag", () => {
    expect(() => parseOptions(["--model", "-x"], options, quietCtx)).toThrow(
      /--model needs a value.*--model=-VALUE/,
    );
  });

  it("refuses unknown flags, stray words, missing values and required flags", () => {
    const err = (argv: string[]) => {
      try {
        parseOptions(argv, options, quietCtx);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      return "no error";
    };
    expect(err(["--model", "m", "--bogus"])).toBe("unknown option --bogus");
    expect(err(["--model", "m", "extra"])).toBe('unexpected argument "extra"');
    expect(err(["--model"])).toBe("--model needs a value");
    expect(err([])).toBe("--model M.eam is required");
    expect(err(["--model", "m", "--split", "train"])).toBe('--split must be one of test, all, got "train"');
    expect(err(["--model", "m", "--depths", "50,,152"])).toMatch(/comma-separated/);
    expect(err(["--model", "m", "--depths", "50,0"])).toBe("--depths must be at least 1, got 0");
  });

  it("collects a repeated flag", () => {
    const o = {
      model: { type: "string", multiple: true, required: true, placeholder: "M.eam" },
    } satisfies OptionSpecs;
    const many: string[] = parseOptions(["--model", "a", "--model", "b"], o).values.model;
    expect(many).toEqual(["a", "b"]);
    expect(() => parseOptions([], o)).toThrow("--model M.eam is required");
  });

  it("refuses a missing required number, and types it as present", () => {
    const o = {
      folds: { type: "integer", min: 2, required: true, placeholder: "K" },
      gain: { type: "number", required: true },
    } satisfies OptionSpecs;
    const v = parseOptions(["--folds", "5", "--gain", "-3"], o).values;
    const folds: number = v.folds;
    const gain: number = v.gain;
    expect([folds, gain]).toEqual([5, -3]);
    expect(() => parseOptions(["--gain", "1"], o)).toThrow("--folds K is required");
    expect(() => parseOptions(["--folds", "2"], o)).toThrow("--gain VALUE is required");
  });

  it("parses lists", () => {
    expect(parseOptions(["--model", "m", "--depths", "18, 50,152"], options, quietCtx).values.depths).toEqual(
      [18, 50, 152],
    );
  });

  it("accepts positionals up to the stated count", () => {
    const p = parseOptions(["a.wav", "b.wav", "--quiet"], { n: { type: "integer" } }, { maxPositionals: 2 });
    expect(p.positionals).toEqual(["a.wav", "b.wav"]);
    expect(p.values.quiet).toBe(true);
    expect(() => parseOptions(["a", "b", "c"], {}, { maxPositionals: 2 })).toThrow(
      "at most 2 arguments expected, got 3",
    );
  });

  it("leaves words after -- alone", () => {
    expect(joinNegativeValues(["--gain", "-1", "--", "--x", "-2"], { gain: { type: "number" } })).toEqual([
      "--gain=-1",
      "--",
      "--x",
      "-2",
    ]);
    // a boolean flag does not swallow a following negative word
    expect(joinNegativeValues(["--json", "-1"], { json: { type: "boolean" } })).toEqual(["--json", "-1"]);
  });

  it("refuses redefining a standard flag", () => {
    expect(() => parseOptions([], { json: { type: "string" } })).toThrow(/standard/);
  });
});

describe("--threads", () => {
  const opts = { threads: { type: "threads" } } satisfies OptionSpecs;
  it("defaults to the core count", () => {
    expect(parseOptions([], opts, { cores: 3 }).values.threads).toBe(3);
  });
  it("refuses 0, negatives and non-integers", () => {
    expect(() => parseOptions(["--threads", "0"], opts, { cores: 3 })).toThrow(
      "--threads must be at least 1, got 0",
    );
    expect(() => parseOptions(["--threads", "-1"], opts, { cores: 3 })).toThrow("at least 1");
    expect(() => parseOptions(["--threads", "1e3"], opts, { cores: 3 })).toThrow(/whole number/);
  });
  it("lowers a count above the cores to the core count, with a warning", () => {
    const warned: string[] = [];
    const p = parseOptions(["--threads", "1000"], opts, { cores: 2, warn: (m) => warned.push(m) });
    expect(p.values.threads).toBe(2);
    expect(warned).toEqual(["--threads 1000 is more than the 2 cores of this machine; using 2"]);
    expect(p.warnings).toEqual(warned);
    expect(
      parseOptions(["--threads", "2"], opts, { cores: 2, warn: (m) => warned.push(m) }).values.threads,
    ).toBe(2);
    expect(warned).toHaveLength(1);
  });
});

describe("parseCommand", () => {
  const spec: CommandSpec<{ model: { type: "string"; required: true } }> = {
    name: "tool run",
    help: "usage: tool run --model M\n",
    version: "1.2.3",
    options: { model: { type: "string", required: true } },
  };
  const capture = () => {
    const out: string[] = [];
    return { out, stream: { write: (s: string) => out.push(s) } };
  };

  it("prints help and returns null, even with other errors on the line", () => {
    for (const argv of [["--help"], ["-h"], ["--bogus", "--help"]]) {
      const c = capture();
      expect(parseCommand(argv, spec, c.stream)).toBeNull();
      expect(c.out.join("")).toBe("usage: tool run --model M\n");
    }
  });

  it("prints the version", () => {
    const c = capture();
    expect(parseCommand(["--version"], spec, c.stream)).toBeNull();
    expect(c.out.join("")).toBe("tool run 1.2.3\n");
  });

  it("returns values otherwise and throws usage errors", () => {
    const c = capture();
    expect(parseCommand(["--model", "m"], spec, c.stream)?.values.model).toBe("m");
    expect(() => parseCommand([], spec, c.stream)).toThrow(UsageError);
    expect(() => parseCommand(["--", "--help"], spec, c.stream)).toThrow(UsageError);
    expect(c.out).toEqual([]);
  });
});
