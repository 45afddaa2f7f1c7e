/**
 * Imported first by the command line, so that the heap settings apply before the engine and dsp
 * modules load (see memory.ts).
 */
import { keepYoungGenerationSmall } from "./memory.js";

keepYoungGenerationSmall();
