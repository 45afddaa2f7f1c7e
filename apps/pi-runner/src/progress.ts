/** A progress bar on stderr: redrawn in place on a terminal, a line per 10 % otherwise. */
export class Progress {
  private done = 0;
  private readonly start = performance.now();
  private lastDecile = -1;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly title: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  tick(note = ""): void {
    this.done++;
    if (!this.enabled) return;
    const frac = this.total ? this.done / this.total : 1;
    const elapsed = (performance.now() - this.start) / 1000;
    const eta = this.done ? (elapsed / this.done) * (this.total - this.done) : 0;
    const line = `${this.title} ${bar(frac)} ${this.done}/${this.total} ${(frac * 100).toFixed(0)}% ${fmtTime(elapsed)} elapsed, ETA ${fmtTime(eta)} ${note}`;
    if (this.tty) {
      this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
      if (this.done === this.total) this.stream.write("\n");
    } else {
      const decile = Math.floor(frac * 10);
      if (decile !== this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${line}\n`);
      }
    }
  }
}

function bar(frac: number, width = 24): string {
  const full = Math.round(frac * width);
  return `[${"#".repeat(full)}${".".repeat(width - full)}]`;
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m
    ? `${m}m${Math.round(s % 60)
        .toString()
        .padStart(2, "0")}s`
    : `${s.toFixed(1)}s`;
}
