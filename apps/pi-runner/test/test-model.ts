import { defaultMelConfig } from "@edge-audio/dsp";
import { createRandomModel, writeModel } from "@edge-audio/engine-wasm";

/** The ten GTZAN genre labels the command-line tests' models carry. */
export const LABELS = [
  "blues",
  "classical",
  "country",
  "disco",
  "hiphop",
  "jazz",
  "metal",
  "pop",
  "reggae",
  "rock",
];

/**
 * Writes a random ResNet-18 (width 0.125) with the GTZAN labels, the default Mel front-end and a
 * trainer split whose held-out clips are blues.00001 and rock.00000, as the command-line tests use.
 */
export function writeTestModel(path: string, seed: number): void {
  const c = createRandomModel({ depth: 18, width: 0.125, numClasses: 10 }, seed);
  c.labels = LABELS;
  c.mel = defaultMelConfig() as unknown as Record<string, number | string | boolean | null>;
  c.metadata = {
    "trainer.split": {
      description: "test",
      seed: 1,
      test: ["blues/blues.00001", "rock/rock.00000"],
      val: [],
    },
  };
  writeModel(path, c);
}
