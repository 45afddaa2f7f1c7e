export * from "./arch.js";
