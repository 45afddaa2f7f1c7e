/**
 * Decoding files ahead on a second thread: while the main thread resamples, builds the
 * spectrogram of and classifies clip i, a worker (decode-worker.ts) decodes the clips asked for
 * after it and mixes them to mono. Used by `eval`, which reads many clips one after another.
 * Only compressed files (named .mp3 or .flac) are decoded ahead: WAV and .au need no decoding worth a thread, whose
 * heap costs about 20 MiB of resident memory, so a folder of them never starts one. Of those,
 * only files whose header declares at most `maxSamples` samples per channel are decoded ahead
 * (the worker's samples wait in memory until the main thread takes them); longer ones, and
 * those of unknown length, are declined and read on the main thread as before.
 */
import { Worker } from "node:worker_threads";
import {
  AudioDecodeError,
  type AudioDecodeErrorCode,
  type AudioFileReport,
  type DecodedPiece,
} from "@edge-audio/dsp";
import { type MonoInput, ToModelRate } from "./input.js";

/** Most samples per channel of a file decoded ahead: 2^21, 8 MiB of float32 (47 s at 44.1 kHz). */
export const DECODE_AHEAD_SAMPLES = 1 << 21;

/** Names of the files decoded ahead. */
const COMPRESSED_NAME = /\.(mp3|flac)$/i;

export interface AheadRequest {
  id: number;
  file: string;
  maxSamples: number;
}

export type AheadReply =
  | { id: number; kind: "declined" }
  | { id: number; kind: "open"; format: string; estimatedSeconds: number | null }
  | { id: number; kind: "piece"; sampleRate: number; samples: Float32Array }
  | { id: number; kind: "end"; report: AudioFileReport }
  | {
      id: number;
      kind: "error";
      error: { name: string; message: string; code: string | undefined; file: string | undefined };
    };

/** The replies of one request, in order, as they arrive. */
class ReplyQueue {
  private readonly items: AheadReply[] = [];
  private waiting: ((r: AheadReply) => void) | null = null;

  put(r: AheadReply): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(r);
    } else this.items.push(r);
  }

  next(): Promise<AheadReply> {
    const r = this.items.shift();
    return r ? Promise.resolve(r) : new Promise((resolve) => (this.waiting = resolve));
  }
}

/** The error the worker saw, rebuilt so that it reads as it would have on the main thread. */
function rebuildError(e: {
  name: string;
  message: string;
  code: string | undefined;
  file: string | undefined;
}): Error {
  if (e.name === "AudioDecodeError" && e.code) {
    const err = new AudioDecodeError(e.code as AudioDecodeErrorCode, "", e.file);
    err.message = e.message;
    return err;
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

export class DecodeAhead {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<string, { id: number; replies: ReplyQueue }[]>();
  private readonly byId = new Map<number, ReplyQueue>();

  constructor(
    /** The model's sample rate, which the samples are resampled to on the main thread. */
    private readonly sampleRate: number,
    private readonly maxSamples = DECODE_AHEAD_SAMPLES,
  ) {}

  /** Starts decoding `file` on the worker (after the files asked for before it). */
  request(file: string): void {
    const id = this.nextId++;
    const replies = new ReplyQueue();
    const list = this.pending.get(file) ?? [];
    list.push({ id, replies });
    this.pending.set(file, list);
    if (!COMPRESSED_NAME.test(file)) {
      replies.put({ id, kind: "declined" });
      return;
    }
    this.byId.set(id, replies);
    this.start().postMessage({ id, file, maxSamples: this.maxSamples } satisfies AheadRequest);
  }

  /**
   * The input of a file asked for with request(): mono samples at the model's rate, resampled
   * here from the worker's pieces. null when the worker declined it (read it on this thread).
   * Throws the error opening the file raised.
   */
  async take(file: string): Promise<MonoInput | null> {
    const list = this.pending.get(file);
    const entry = list?.shift();
    if (!entry) throw new Error(`DecodeAhead: ${file} was not requested`);
    if (list!.length === 0) this.pending.delete(file);
    const first = await entry.replies.next();
    if (first.kind === "declined" || first.kind === "error") this.byId.delete(entry.id);
    if (first.kind === "declined") return null;
    if (first.kind === "error") throw rebuildError(first.error);
    if (first.kind !== "open") throw new Error(`DecodeAhead: unexpected ${first.kind} for ${file}`);
    return this.input(file, entry.id, entry.replies, first);
  }

  /** Stops the worker; requests still pending are dropped. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private input(
    file: string,
    id: number,
    replies: ReplyQueue,
    opened: { format: string; estimatedSeconds: number | null },
  ): MonoInput {
    return {
      file,
      format: opened.format,
      estimatedSeconds: opened.estimatedSeconds,
      close: async () => {},
      read: async (push) => {
        // the pieces are the main thread's own arrays, dropped after use: eval collects per clip
        const mono = new ToModelRate(file, this.sampleRate, false, push);
        try {
          for (;;) {
            const r = await replies.next();
            if (r.kind === "piece") {
              const piece: DecodedPiece = { sampleRate: r.sampleRate, channels: [r.samples] };
              mono.piece(piece);
            } else if (r.kind === "end") {
              if (r.report.frames === 0)
                throw new AudioDecodeError(
                  "EMPTY",
                  "the file holds no audio samples (zero-length data)",
                  file,
                );
              mono.end();
              return r.report;
            } else if (r.kind === "error") throw rebuildError(r.error);
            else throw new Error(`DecodeAhead: unexpected ${r.kind} for ${file}`);
          }
        } finally {
          this.byId.delete(id);
        }
      },
    };
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL("./decode-worker.js", import.meta.url));
    w.on("message", (r: AheadReply) => this.byId.get(r.id)?.put(r));
    w.on("error", (e: Error) => {
      // every request still waiting fails with the worker's error
      for (const [id, q] of this.byId)
        q.put({
          id,
          kind: "error",
          error: {
            name: e.name,
            message: `decoding thread failed: ${e.message}`,
            code: undefined,
            file: undefined,
          },
        });
    });
    this.worker = w;
    return w;
  }
}
