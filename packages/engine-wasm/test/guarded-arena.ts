/**
 * Test memory for the kernel testers: one wasm memory with both kernel builds instantiated on
 * it, and buffers placed at random offsets with guard bytes before and after, so that a kernel
 * that writes outside its output (or reads past its input into a NaN) is caught.
 */
import { createMemory, type Isa, instantiate, type KernelExports, kernelModule } from "../dist/wasm.js";

export const ISAS: Isa[] = ["wasmsimd", "scalar"];
export const GUARD = 64;
export const GUARD_BYTE = 0xa5;

export class GuardedArena {
  readonly memory: WebAssembly.Memory;
  readonly u8: Uint8Array;
  readonly i8: Int8Array;
  readonly f32: Float32Array;
  readonly u32: Uint32Array;
  readonly k: Record<Isa, KernelExports>;
  private top = 1 << 16;
  private bufs: { addr: number; bytes: number }[] = [];

  constructor(
    private readonly rand: () => number,
    bytes = 64 << 20,
  ) {
    this.memory = createMemory(bytes);
    this.u8 = new Uint8Array(this.memory.buffer);
    this.i8 = new Int8Array(this.memory.buffer);
    this.f32 = new Float32Array(this.memory.buffer);
    this.u32 = new Uint32Array(this.memory.buffer);
    const mods = ISAS.map((isa) => [isa, instantiate(kernelModule(isa), this.memory)] as const);
    this.k = Object.fromEntries(mods) as Record<Isa, KernelExports>;
  }

  reset(): void {
    this.top = 1 << 16;
    this.bufs = [];
  }

  /** Buffer at a random offset (4-byte aligned, or byte aligned when `align1`), guarded. */
  alloc(bytes: number, align1 = false): number {
    const start =
      Math.ceil(this.top / 64) * 64 +
      GUARD +
      (align1 ? Math.floor(this.rand() * 16) : 4 * Math.floor(this.rand() * 16));
    this.u8.fill(GUARD_BYTE, start - GUARD, start);
    this.u8.fill(GUARD_BYTE, start + bytes, start + bytes + GUARD);
    this.top = start + bytes + GUARD;
    this.bufs.push({ addr: start, bytes });
    return start;
  }

  floats(data: ArrayLike<number>): number {
    const a = this.alloc(data.length * 4);
    this.f32.set(data, a >>> 2);
    return a;
  }

  bytes(d: Int8Array | Uint8Array | Uint16Array): number {
    const a = this.alloc(d.byteLength, true);
    this.u8.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), a);
    return a;
  }

  /** Output buffer prefilled with NaN. */
  out(n: number): number {
    const a = this.alloc(n * 4);
    this.f32.fill(Number.NaN, a >>> 2, (a >>> 2) + n);
    return a;
  }

  read(addr: number, n: number): Float32Array {
    return this.f32.slice(addr >>> 2, (addr >>> 2) + n);
  }

  checkGuards(): void {
    for (const b of this.bufs) {
      for (let i = b.addr - GUARD; i < b.addr; i++)
        if (this.u8[i] !== GUARD_BYTE) throw new Error(`guard before buffer @${b.addr} overwritten`);
      for (let i = b.addr + b.bytes; i < b.addr + b.bytes + GUARD; i++)
        if (this.u8[i] !== GUARD_BYTE) throw new Error(`guard after buffer @${b.addr} overwritten`);
    }
  }
}
