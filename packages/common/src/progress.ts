/** A progress bar on stderr, with rate and ETA; drawn only on a terminal and never with --quiet. */

/**
 * A duration for people: "4.2s", "59s", "2m05s", "1h07m". Rounds once, before splitting into units,
 * so a value never shows 60 in its lower unit.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--";
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  const m = Math.round(seconds / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** A rate for people: "12.5 crops/s", or "2.4 s/step" when below one per second. */
export function formatRate(perSecond: number, unit: string): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return `-- ${unit}/s`;
  if (perSecond < 1) return `${(1 / perSecond).toFixed(1)} s/${unit}`;
  return `${perSecond < 100 ? perSecond.toFixed(1) : perSecond.toFixed(0)} ${unit}/s`;
}

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Text before the bar, e.g. "epoch 3/20". */
  title: string;
  /** Number of steps. */
  total: number;
  /** Name of one step in the rate, e.g. "step", "clip" (default "item"). */
  unit?: string;
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** --quiet: draw nothing, print no summary. */
  quiet?: boolean;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
  /** Least time between redraws in milliseconds (default 100). */
  redrawMs?: number;
}

export class ProgressBar {
  private readonly draws: boolean;
  private readonly start: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private count = 0;
  private readonly now: () => number;

  constructor(private readonly o: ProgressOptions) {
    this.now = o.now ?? (() => performance.now());
    this.start = this.now();
    this.draws = !o.quiet && Boolean(this.stream.isTTY);
  }

  private get stream(): ProgressStream {
    return this.o.stream ?? process.stderr;
  }

  /** Steps done so far. */
  get done(): number {
    return this.count;
  }

  /** Seconds since the bar was made. */
  elapsedSeconds(): number {
    return (this.now() - this.start) / 1000;
  }

  /** One more step done (or `n`). */
  tick(n = 1, note = ""): void {
    this.update(this.count + n, note);
  }

  /** `done` steps done; `note` goes at the end of the line (e.g. "loss 1.234"). */
  update(done: number, note = ""): void {
    this.count = done;
    if (!this.draws) return;
    const t = this.now();
    if (done < this.o.total && t - this.lastDraw < (this.o.redrawMs ?? 100)) return;
    this.lastDraw = t;
    const cols = this.stream.columns ?? 120;
    this.stream.write(`\r${this.line(done, note).slice(0, cols - 1)}\x1b[K`);
  }

  /** The bar's text for `done` steps (no terminal codes). */
  line(done: number, note = ""): string {
    const total = Math.max(0, this.o.total);
    const frac = total ? Math.min(1, done / total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const elapsed = this.elapsedSeconds();
    const rate = elapsed > 0 ? done / elapsed : Number.NaN;
    const eta = done > 0 ? (elapsed / done) * Math.max(0, total - done) : Number.NaN;
    const parts = [
      this.o.title,
      `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`,
      `${done}/${total}`,
      formatRate(rate, this.o.unit ?? "item"),
      `ETA ${formatDuration(eta)}`,
    ];
    if (note) parts.push(note);
    return parts.join(" ");
  }

  /**
   * Removes the bar and, unless quiet, prints `summary` as a line on its own (on any stream, so logs
   * keep one line per finished stage), followed by the elapsed time.
   */
  finish(summary?: string): void {
    if (this.draws) this.stream.write("\r\x1b[K");
    if (this.o.quiet || summary === undefined) return;
    this.stream.write(`${summary} (${formatDuration(this.elapsedSeconds())})\n`);
  }
}
