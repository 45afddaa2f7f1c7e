/** Text output helpers shared by the commands: rounding, clock times, aligned tables, CSV. */

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Seconds as m:ss (or h:mm:ss from an hour on), e.g. 72.4 -> "1:12". */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds + 1e-6));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MiB`;
}

/** Rows of cells as columns padded to their widest cell; numeric-looking columns are right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const numeric = header.map(
    (_, c) => rows.length > 0 && rows.every((r) => /^[-\d.:% ms]*$/.test(r[c] ?? "")),
  );
  const line = (r: string[]) =>
    r
      .map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
export function csvField(v: string | number | undefined): string {
  const s = v === undefined ? "" : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvRow(cells: (string | number | undefined)[]): string {
  return cells.map(csvField).join(",");
}

/** One line naming the file and the problem; messages that already name the file are kept. */
export function describe(e: unknown, file: string): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.includes(file) ? msg : `${file}: ${msg}`;
}
