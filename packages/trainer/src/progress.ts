/** A progress bar on stderr: redrawn in place on a terminal, one line per epoch otherwise. */

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "--";
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - 60 * m)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

export class ProgressBar {
  private readonly tty: boolean;
  private readonly start = performance.now();
  private lastDraw = 0;
  constructor(
    private readonly title: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, info: string): void {
    if (!this.enabled || !this.tty) return;
    const now = performance.now();
    if (done < this.total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const elapsed = (now - this.start) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : Number.NaN;
    const width = 24;
    const filled = Math.round((done / Math.max(1, this.total)) * width);
    const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
    const line = `${this.title} [${bar}] ${done}/${this.total} ${info} ETA ${formatDuration(eta)}`;
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, line.length))}\x1b[K`);
  }

  /** Ends the bar with a summary line (printed on every kind of stream). */
  finish(summary: string): void {
    if (!this.enabled) return;
    const elapsed = (performance.now() - this.start) / 1000;
    const line = `${this.title} ${summary} (${formatDuration(elapsed)})`;
    this.stream.write(this.tty ? `\r${line}\x1b[K\n` : `${line}\n`);
  }
}
