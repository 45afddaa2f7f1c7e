/**
 * The decoding thread of DecodeAhead (decode-ahead.ts): opens each file it is sent, decodes it
 * (MP3 and FLAC through their decoders, WAV and .au as read), mixes it to mono at the file's own
 * rate and posts the samples back piece by piece. Resampling, features and inference stay on the
 * main thread, so the two halves of a clip's work run on two cores.
 */
import { parentPort } from "node:worker_threads";
import { AudioDecodeError, MonoAtRate, openAudioFile } from "@edge-audio/dsp";
import type { AheadReply, AheadRequest } from "./decode-ahead.js";

function post(reply: AheadReply, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(reply, transfer);
}

async function decode({ id, file, maxSamples }: AheadRequest): Promise<void> {
  const f = await openAudioFile(file);
  const rate = f.sampleRate;
  const samples = rate !== null && f.estimatedSeconds !== null ? f.estimatedSeconds * rate : null;
  if (samples === null || samples > maxSamples) {
    await f.close();
    post({ id, kind: "declined" });
    return;
  }
  post({ id, kind: "open", format: f.format, estimatedSeconds: f.estimatedSeconds });
  let sampleRate = 0;
  // mixed as the main thread mixes a file it reads itself; a copy it owns (the mixer reuses its arrays)
  const mono = new MonoAtRate(file, null, (view) => {
    const samples = view.slice();
    post({ id, kind: "piece", sampleRate, samples }, [samples.buffer as ArrayBuffer]);
  });
  const report = await f.read((p) => {
    sampleRate = p.sampleRate;
    mono.piece(p);
  });
  post({ id, kind: "end", report });
}

parentPort!.on("message", (req: AheadRequest) => {
  decode(req).catch((e: unknown) => {
    const err = e as Error & { code?: string; file?: string };
    post({
      id: req.id,
      kind: "error",
      error: {
        name: err.name ?? "Error",
        message: err.message ?? String(e),
        code: err instanceof AudioDecodeError ? err.code : undefined,
        file: err instanceof AudioDecodeError ? err.file : undefined,
      },
    });
  });
});
