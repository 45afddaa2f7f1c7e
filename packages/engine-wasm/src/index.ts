export * from "./arch.js";
export { crc32 } from "./crc32.js";
export * from "./format.js";
