/** Every number the TFLite writer takes from the schema agrees with the vendored schema.fbs. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ActivationFunctionType,
  BuiltinOperator,
  BuiltinOptions,
  FILE_IDENTIFIER,
  FieldCount,
  Padding,
  Slots,
  TensorType,
} from "../src/export/tflite/schema.js";
import { parseFbs } from "./helpers/fbs.js";

const text = readFileSync(new URL("../schema/schema.fbs", import.meta.url), "utf8");
const schema = parseFbs(text);

describe("TFLite schema constants", () => {
  it("reads the schema (file identifier, root type, 164 tables, 126 builtin options)", () => {
    expect(text).toContain(`file_identifier "${FILE_IDENTIFIER}";`);
    expect(text).toContain("root_type Model;");
    expect(schema.tables.size).toBe(164);
    expect(schema.unions.get("BuiltinOptions")!.size).toBe(126);
  });

  it("table field slots and field counts", () => {
    for (const [table, fields] of Object.entries(Slots)) {
      const parsed = schema.tables.get(table);
      expect(parsed, table).toBeDefined();
      for (const [field, slot] of Object.entries(fields))
        expect(parsed!.get(field), `${table}.${field}`).toBe(slot);
    }
    for (const [table, n] of Object.entries(FieldCount))
      expect(schema.tables.get(table)!.size, table).toBe(n);
  });

  it("enum values and union indices", () => {
    const check = (name: string, values: Record<string, number>, of: Map<string, Map<string, number>>) => {
      for (const [k, v] of Object.entries(values)) expect(of.get(name)!.get(k), `${name}.${k}`).toBe(v);
    };
    check("TensorType", TensorType, schema.enums);
    check("Padding", Padding, schema.enums);
    check("ActivationFunctionType", ActivationFunctionType, schema.enums);
    check("BuiltinOperator", BuiltinOperator, schema.enums);
    check("BuiltinOptions", BuiltinOptions, schema.unions);
  });

  it("the reader counts a union field as two slots", () => {
    const s = parseFbs("union U { A, B }\ntable A {}\ntable B {}\ntable T { x:int; u:U; y:[int]; }");
    expect([...s.tables.get("T")!]).toEqual([
      ["x", 0],
      ["u_type", 1],
      ["u", 2],
      ["y", 3],
    ]);
  });
});
