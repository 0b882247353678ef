/**
 * Blocks of a WebAssembly memory for tensor storage: a size-class free list over a heap that only
 * grows (a WebAssembly memory cannot shrink). Private: `memory.ts` hands its blocks out as
 * `Float32Array` views, and `_gemm_wasm.ts` places each call's scratch data past `top`.
 *
 * Sizes are rounded up to classes of four per doubling (at most 25% slack), so a training step
 * that frees and allocates the same shapes every step reuses the same blocks and the heap stops
 * growing after the first step. Freeing the highest block lowers `top` (with any free blocks just
 * below it), which gives the room back to scratch data.
 * @module
 */

/** Alignment of every block, in bytes: a cache line. */
export const BLOCK_ALIGN = 64;

/**
 * The size class of a request: a multiple of 64 bytes up to 256, then four classes per doubling.
 *
 * @param bytes Bytes asked for (≥ 0).
 * @returns The bytes of the block that serves it.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= 4 * BLOCK_ALIGN) return Math.max(1, Math.ceil(bytes / BLOCK_ALIGN)) * BLOCK_ALIGN;
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 2);
  return Math.ceil(bytes / step) * step;
}

/** Counts for `memoryStats`. */
export interface ArenaStats {
  /** Bytes in blocks handed out and not released. */
  readonly liveBytes: number;
  /** Blocks handed out and not released. */
  readonly liveBlocks: number;
  /** Bytes in free blocks kept for reuse. */
  readonly freeBytes: number;
  /** First byte past the highest block. */
  readonly top: number;
}

/** A heap of blocks from `base`, grown through `reserve`. */
export class Arena {
  #top: number;
  readonly #limit: number;
  readonly #reserve: (bytes: number) => boolean;
  /** Free block offsets by size class. */
  readonly #free = new Map<number, number[]>();
  /** Free blocks by their end offset, to lower `top` past them. */
  readonly #freeByEnd = new Map<number, number>();
  /** Size class of every block, live or free, by offset. */
  readonly #size = new Map<number, number>();
  #liveBytes = 0;
  #liveBlocks = 0;
  #freeBytes = 0;

  /**
   * @param base First byte of the heap (aligned up to 64).
   * @param limit Bytes the heap's top may reach (scratch data needs room past it).
   * @param reserve Makes the memory at least this many bytes long; false if it cannot.
   */
  constructor(base: number, limit: number, reserve: (bytes: number) => boolean) {
    this.#top = Math.ceil(base / BLOCK_ALIGN) * BLOCK_ALIGN;
    this.#limit = limit;
    this.#reserve = reserve;
  }

  /** First byte past the highest block: scratch data may start here. */
  get top(): number {
    return this.#top;
  }

  /**
   * A block of at least `bytes` bytes (contents unspecified).
   *
   * @returns Its byte offset, or -1 when the heap would pass its limit or the memory cannot grow.
   */
  allocate(bytes: number): number {
    const size = sizeClass(bytes);
    const list = this.#free.get(size);
    if (list?.length) {
      const offset = list.pop()!;
      this.#freeByEnd.delete(offset + size);
      this.#freeBytes -= size;
      return this.#take(offset, size);
    }
    const offset = this.#top;
    if (offset + size > this.#limit || !this.#reserve(offset + size)) return -1;
    this.#top = offset + size;
    this.#size.set(offset, size);
    return this.#take(offset, size);
  }

  /**
   * Returns a block to the heap.
   *
   * @param offset An offset from `allocate` not yet released.
   * @throws {Error} If `offset` is not a live block (a double free: a bug).
   */
  release(offset: number): void {
    const size = this.#size.get(offset);
    if (size === undefined || this.#freeByEnd.get(offset + size) === offset) {
      throw new Error(`Cannot release CPU storage at byte ${offset}: it is not a live block (freed twice?)`);
    }
    this.#liveBytes -= size;
    this.#liveBlocks--;
    if (offset + size === this.#top) {
      this.#size.delete(offset);
      this.#top = offset;
      // Free blocks just below the new top go back to the open heap too.
      for (
        let below = this.#freeByEnd.get(this.#top);
        below !== undefined;
        below = this.#freeByEnd.get(this.#top)
      ) {
        const s = this.#size.get(below)!;
        const list = this.#free.get(s)!;
        list.splice(list.lastIndexOf(below), 1);
        this.#freeByEnd.delete(this.#top);
        this.#size.delete(below);
        this.#freeBytes -= s;
        this.#top = below;
      }
      return;
    }
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(offset);
    this.#freeByEnd.set(offset + size, offset);
    this.#freeBytes += size;
  }

  /** Whether `offset` is the start of a live block. */
  isLive(offset: number): boolean {
    const size = this.#size.get(offset);
    return size !== undefined && this.#freeByEnd.get(offset + size) !== offset;
  }

  /** Live and free bytes and blocks. */
  stats(): ArenaStats {
    return {
      liveBytes: this.#liveBytes,
      liveBlocks: this.#liveBlocks,
      freeBytes: this.#freeBytes,
      top: this.#top,
    };
  }

  #take(offset: number, size: number): number {
    this.#liveBytes += size;
    this.#liveBlocks++;
    return offset;
  }
}
