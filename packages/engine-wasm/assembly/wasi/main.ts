// Stand-alone WASI build of the engine: runs a plan file made by the host engine
// (src/wasi-run.ts, `edge-audio-engine run FILE --wasi --save-plan PLAN`) on one crop with the
// same kernels as the host's SIMD build, single thread, and prints the class probabilities.
//
//   engine-wasi.wasm PLAN CROP.f32
//
// The plan file holds the host's kernel call records and the memory image it loaded (packed
// weights, parameter blocks, padding vectors, indirection buffers) at the addresses the host
// planned, so this module parses no model file: the .eam reader stays in the host. CROP.f32 is
// raw little-endian float32 in the layout data[mel * frames + frame]. Output: one line per class
// "index<TAB>probability<TAB>float32 bits in hex". Paths resolve against the preopened
// directories. Exit 2 with a one-line message on a bad plan or crop. The kernel ids, their
// dispatch and the bounds check of every call are generated from the kernel manifest
// (scripts/kernel-manifest.mjs -> assembly/gen/wasi-kernels.ts).

import {
  errno,
  fd,
  fd_close,
  fd_filestat_get,
  fd_prestat_dir_name,
  fd_prestat_get,
  fd_read,
  filestat,
  lookupflags,
  oflags,
  path_open,
  prestat,
  rights,
} from "bindings/wasi_snapshot_preview1";
import { ARITY, callProblem, KERNEL_COUNT, KERNEL_NAMES, runKernel } from "../gen/wasi-kernels";

// Plan file layout (little-endian u32 words; src/wasi-run.ts writes it).
const MAGIC0: u32 = 0x504d4145; // "EAMP"
const MAGIC1: u32 = 0x314e414c; // "LAN1"
const VERSION: u32 = 1;
const HEADER_BYTES: u32 = 64;
const H_VERSION = 8;
const H_CRC = 12;
const H_FILE_BYTES = 16;
const H_BASE = 20;
const H_MEMORY_BYTES = 24;
const H_IMAGE_BYTES = 28;
const H_INPUT_ADDR = 32;
const H_INPUT_COUNT = 36;
const H_OUTPUT_ADDR = 40;
const H_OUTPUT_COUNT = 44;
const H_CALLS = 48;
const H_CALL_WORDS = 52;

function fail(msg: string): void {
  process.stderr.write("engine-wasi: " + msg + "\n");
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Files

/** Opens `path` for reading through the preopened directory that holds it. */
function openFile(path: string): fd {
  let dirFd: fd = 0;
  let rel = path;
  const pre = memory.data(8);
  for (let f: fd = 3; f < 64; f++) {
    if (fd_prestat_get(f, changetype<prestat>(pre)) != errno.SUCCESS) break;
    const len = load<u32>(pre, 4);
    const buf = new ArrayBuffer(<i32>len);
    fd_prestat_dir_name(f, changetype<usize>(buf), len);
    let name = String.UTF8.decode(buf);
    while (name.length > 1 && name.endsWith("/")) name = name.substring(0, name.length - 1);
    if (!path.startsWith("/")) {
      if (name == ".") rel = path;
      else if (path.startsWith(name + "/")) rel = path.substring(name.length + 1);
      else continue;
      dirFd = f;
      break;
    }
    if (path.startsWith(name + "/")) {
      dirFd = f;
      rel = path.substring(name.length + 1);
      break;
    }
    if (name == "/") {
      dirFd = f;
      rel = path.substring(1);
      break;
    }
  }
  if (dirFd == 0) fail(path + ": no preopened directory gives access to it (pass its folder with --dir)");
  const p = String.UTF8.encode(rel);
  const out = memory.data(4);
  const err = path_open(
    dirFd,
    lookupflags.SYMLINK_FOLLOW,
    changetype<usize>(p),
    <usize>p.byteLength,
    0 as oflags,
    rights.FD_READ | rights.FD_FILESTAT_GET,
    rights.FD_READ,
    0,
    out,
  );
  if (err != errno.SUCCESS) fail(path + ": cannot open it (WASI errno " + err.toString() + ")");
  return load<u32>(out);
}

function fileSize(f: fd, path: string): u64 {
  const st = memory.data(64);
  if (fd_filestat_get(f, changetype<filestat>(st)) != errno.SUCCESS) fail(path + ": cannot stat it");
  return load<u64>(st, 32);
}

/** Reads exactly `n` bytes of `f` into unmanaged memory at `dst`. */
function readInto(f: fd, path: string, dst: usize, n: usize): void {
  const iov = memory.data(8);
  const nread = memory.data(4);
  let done: usize = 0;
  while (done < n) {
    store<u32>(iov, <u32>(dst + done));
    store<u32>(iov, <u32>(n - done), 4);
    if (fd_read(f, iov, 1, nread) != errno.SUCCESS) fail(path + ": read error");
    const got = load<u32>(nread);
    if (got == 0) fail(path + ": ends early");
    done += got;
  }
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE), to refuse a damaged plan before running it

const CRC_TABLE = new StaticArray<u32>(256);
function crcInit(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    CRC_TABLE[n] = c;
  }
}
function crc32(crc: u32, ptr: usize, len: usize): u32 {
  let c = ~crc;
  for (let i: usize = 0; i < len; i++) c = unchecked(CRC_TABLE[(c ^ load<u8>(ptr + i)) & 0xff]) ^ (c >>> 8);
  return ~c;
}

// ---------------------------------------------------------------------------------------------
// Plan

/** Checks the header fields (at `h`) against the file size and each other; returns a problem or "". */
function headerProblem(h: usize, size: u64): string {
  if (size < <u64>HEADER_BYTES) return "too short for a plan file";
  if (load<u32>(h) != MAGIC0 || load<u32>(h, 4) != MAGIC1) return "not a plan file (bad magic)";
  const v = load<u32>(h, H_VERSION);
  if (v != VERSION) return "plan format version " + v.toString() + ", this module reads version 1";
  if (<u64>load<u32>(h, H_FILE_BYTES) != size) return "its size differs from the size its header records";
  const base = <u64>load<u32>(h, H_BASE);
  const mem = <u64>load<u32>(h, H_MEMORY_BYTES);
  const image = <u64>load<u32>(h, H_IMAGE_BYTES);
  const words = <u64>load<u32>(h, H_CALL_WORDS);
  if (base & 63 || base + image > mem) return "its memory image lies outside its memory";
  if (<u64>HEADER_BYTES + words * 4 + image != size) return "its sections do not add up to its size";
  const inA = <u64>load<u32>(h, H_INPUT_ADDR);
  const outA = <u64>load<u32>(h, H_OUTPUT_ADDR);
  const inN = <u64>load<u32>(h, H_INPUT_COUNT);
  const outN = <u64>load<u32>(h, H_OUTPUT_COUNT);
  if (inA & 3 || inA < base || inA + inN * 4 > mem) return "its input tensor lies outside its memory";
  if (outA & 3 || outA < base || outA + outN * 4 > mem || outN < 1)
    return "its output tensor lies outside its memory";
  return "";
}

/** Checks that the call records (at `p`, `words` u32) are `calls` known kernels with their arities. */
function recordsProblem(p: usize, words: u32, calls: u32): string {
  let i: u32 = 0;
  for (let n: u32 = 0; n < calls; n++) {
    if (i >= words) return "its call records end early";
    const id = load<u32>(p + (<usize>i << 2));
    if (id >= KERNEL_COUNT) return "call " + n.toString() + " names unknown kernel " + id.toString();
    const arity = <u32>ARITY[id];
    if (i + 1 + arity > words) return "its call records end early";
    i += 1 + arity;
  }
  return i == words ? "" : "its call records do not fill their section";
}

/**
 * Runs the call records at [p, end) in turn, each after checking that every buffer it names
 * (start and length, and the entries of its address tables) lies in the plan's memory
 * [base, mem), so that a hostile plan is refused with a message instead of a trap. The check
 * runs right before its call, on the memory the call will see.
 */
function runCalls(p: usize, end: usize, base: u32, mem: u64, planPath: string): void {
  for (let n: u32 = 0; p < end; n++) {
    const id = load<u32>(p);
    const bad = callProblem(id, p + 4, <f64>base, <f64>mem);
    if (bad.length > 0) fail(planPath + ": call " + n.toString() + " (" + KERNEL_NAMES[id] + "): " + bad);
    runKernel(id, p + 4);
    p += 4 + (<usize>ARITY[id] << 2);
  }
}

const HEX = "0123456789abcdef";
function hex32(v: u32): string {
  let s = "";
  for (let k = 28; k >= 0; k -= 4) s += HEX.charAt(<i32>((v >>> (<u32>k)) & 15));
  return s;
}

/** Grows memory to hold `bytes`; the plan's region must start above what the runtime already uses. */
function reserveMemory(base: u32, bytes: u64, planPath: string): void {
  const used = <u64>memory.size() << 16;
  if (used > <u64>base)
    fail(planPath + ": the plan starts at " + base.toString() + ", below this module's own memory (" + used.toString() + " bytes); make it again with this version");
  const pages = <i32>((bytes + 65535) >> 16) - memory.size();
  if (pages > 0 && memory.grow(pages) < 0)
    fail(planPath + ": the plan needs " + bytes.toString() + " bytes of memory, which this runtime does not give");
}

/** Plan file header, read and checked by checkPlanFile. */
const HEADER = memory.data(<i32>HEADER_BYTES, 64);
const CHUNK_BYTES: u32 = 65536;
const CHUNK = memory.data(<i32>CHUNK_BYTES, 64);

/**
 * First pass over the plan file, through a small buffer: its header, size and checksum, before
 * any memory is reserved for it.
 */
function checkPlanFile(path: string): void {
  const f = openFile(path);
  const size = fileSize(f, path);
  if (size >= <u64>HEADER_BYTES) readInto(f, path, HEADER, HEADER_BYTES);
  const bad = headerProblem(HEADER, size);
  if (bad.length > 0) fail(path + ": " + bad);
  let crc = crc32(0, HEADER + H_FILE_BYTES, HEADER_BYTES - H_FILE_BYTES);
  for (let done = <u64>HEADER_BYTES; done < size; ) {
    const n = <u32>min(<u64>CHUNK_BYTES, size - done);
    readInto(f, path, CHUNK, n);
    crc = crc32(crc, CHUNK, n);
    done += n;
  }
  fd_close(f);
  if (crc != load<u32>(HEADER, H_CRC)) fail(path + ": checksum mismatch, the plan file is damaged; make it again");
}

/** Reserves the plan's memory and reads its call records (returned address) and memory image. */
function loadPlan(path: string): usize {
  const base = load<u32>(HEADER, H_BASE);
  const mem = <u64>load<u32>(HEADER, H_MEMORY_BYTES);
  const words = load<u32>(HEADER, H_CALL_WORDS);
  // The call records go right after the plan's memory.
  const callsAt = <usize>((mem + 63) & ~63);
  const end = <u64>callsAt + <u64>words * 4;
  if (end > 0xffff0000) fail(path + ": the plan needs more than 4 GiB of memory");
  reserveMemory(base, end, path);
  const f = openFile(path);
  const image = <usize>load<u32>(HEADER, H_IMAGE_BYTES);
  readInto(f, path, CHUNK, HEADER_BYTES);
  readInto(f, path, callsAt, <usize>words * 4);
  readInto(f, path, <usize>base, image);
  fd_close(f);
  // The same bytes as the first pass (the file may have changed in between).
  let crc = crc32(0, CHUNK + H_FILE_BYTES, HEADER_BYTES - H_FILE_BYTES);
  crc = crc32(crc32(crc, callsAt, <usize>words * 4), <usize>base, image);
  if (memory.compare(CHUNK, HEADER, HEADER_BYTES) != 0 || crc != load<u32>(HEADER, H_CRC))
    fail(path + ": the file changed while it was read; run again");
  const bad = recordsProblem(callsAt, words, load<u32>(HEADER, H_CALLS));
  if (bad.length > 0) fail(path + ": " + bad);
  return callsAt;
}

/** Reads the crop into the plan's input tensor; it must have the input's size and be finite. */
function readCrop(path: string): void {
  const f = openFile(path);
  const n = load<u32>(HEADER, H_INPUT_COUNT);
  const bytes = fileSize(f, path);
  if (bytes != <u64>n * 4)
    fail(path + ": " + bytes.toString() + " bytes; the model takes " + n.toString() + " float32 values (" + (<u64>n * 4).toString() + " bytes)");
  const at = <usize>load<u32>(HEADER, H_INPUT_ADDR);
  readInto(f, path, at, <usize>n * 4);
  fd_close(f);
  for (let k: u32 = 0; k < n; k++) {
    const x = load<f32>(at + (<usize>k << 2));
    if (!isFinite(x)) fail(path + ": value " + k.toString() + " is " + x.toString() + "; the input must be finite");
  }
}

/** Prints "index<TAB>probability<TAB>bits" per class; a non-finite output is refused. */
function printOutput(planPath: string): void {
  const at = <usize>load<u32>(HEADER, H_OUTPUT_ADDR);
  const n = load<u32>(HEADER, H_OUTPUT_COUNT);
  const lines = new Array<string>();
  for (let k: u32 = 0; k < n; k++) {
    const y = load<f32>(at + (<usize>k << 2));
    if (!isFinite(y)) fail(planPath + ": the output is not finite (class " + k.toString() + "); the model's weights hold NaN or infinite values");
    lines.push(k.toString() + "\t" + (<f64>y).toString() + "\t" + hex32(reinterpret<u32>(y)) + "\n");
  }
  process.stdout.write(lines.join(""));
}

function main(): void {
  const argv = process.argv;
  if (argv.length != 3) fail("usage: engine-wasi.wasm PLAN CROP.f32");
  crcInit();
  checkPlanFile(argv[1]);
  const callsAt = loadPlan(argv[1]);
  readCrop(argv[2]);
  const callsEnd = callsAt + (<usize>load<u32>(HEADER, H_CALL_WORDS) << 2);
  runCalls(callsAt, callsEnd, load<u32>(HEADER, H_BASE), <u64>load<u32>(HEADER, H_MEMORY_BYTES), argv[1]);
  printOutput(argv[1]);
}

main();
