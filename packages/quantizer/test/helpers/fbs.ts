/**
 * A reader for the parts of a FlatBuffers schema (`.fbs`) the TFLite writer's constants come from:
 * enum values, union member indices and table field slots (vtable index; a union field takes two,
 * `<name>_type` first). Enough for TensorFlow's `schema.fbs`; not a general `.fbs` parser.
 */
export interface FbsSchema {
  enums: Map<string, Map<string, number>>;
  unions: Map<string, Map<string, number>>;
  /** table -> field -> slot */
  tables: Map<string, Map<string, number>>;
}

function stripComments(text: string): string {
  return text.replace(/\/\/[^\n]*/g, "");
}

function blocks(text: string, keyword: string): { name: string; body: string }[] {
  const re = new RegExp(`\\b${keyword}\\s+(\\w+)[^{]*\\{([^}]*)\\}`, "g");
  return [...text.matchAll(re)].map((m) => ({ name: m[1]!, body: m[2]! }));
}

const items = (body: string) =>
  body
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter(Boolean);

export function parseFbs(text: string): FbsSchema {
  const src = stripComments(text);
  const enums = new Map<string, Map<string, number>>();
  for (const { name, body } of blocks(src, "enum")) {
    const values = new Map<string, number>();
    let next = 0;
    for (const item of items(body)) {
      const m = /^(\w+)\s*(?:=\s*(-?\d+))?/.exec(item);
      if (!m) continue;
      const v = m[2] !== undefined ? Number(m[2]) : next;
      values.set(m[1]!, v);
      next = v + 1;
    }
    enums.set(name, values);
  }
  const unions = new Map<string, Map<string, number>>();
  for (const { name, body } of blocks(src, "union")) {
    const members = new Map<string, number>();
    items(body).forEach((item, i) => {
      members.set(/^(\w+)/.exec(item)![1]!, i + 1); // 0 is NONE
    });
    unions.set(name, members);
  }
  const tables = new Map<string, Map<string, number>>();
  for (const { name, body } of blocks(src, "table")) {
    const fields = new Map<string, number>();
    let slot = 0;
    for (const item of body.split(";").map((s) => s.trim())) {
      const m = /^(\w+)\s*:\s*\[?\s*(\w+)/.exec(item);
      if (!m) continue;
      if (unions.has(m[2]!)) fields.set(`${m[1]}_type`, slot++);
      fields.set(m[1]!, slot++);
    }
    tables.set(name, fields);
  }
  return { enums, unions, tables };
}
