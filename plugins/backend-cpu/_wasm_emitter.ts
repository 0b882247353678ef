/**
 * A small WebAssembly binary emitter: just the sections and instructions the CPU kernels use (one
 * imported memory, functions, exports; integer arithmetic, blocks and loops, scalar and 128-bit
 * SIMD loads and stores, `f32x4` arithmetic and relaxed SIMD's fused multiply-add). Private.
 *
 * Encoding follows the WebAssembly core specification 2.0 (§5, binary format) and the relaxed SIMD
 * proposal: integers are LEB128, vectors are a length followed by their items, SIMD instructions
 * are the prefix byte `0xfd` followed by their opcode as an unsigned LEB128.
 * @module
 */

/** Value types (§5.3.1). */
export const I32 = 0x7f;
/** 32-bit float. */
export const F32 = 0x7d;
/** 128-bit vector. */
export const V128 = 0x7b;
/** A value type's byte. */
export type ValType = typeof I32 | typeof F32 | typeof V128;

/** Unsigned LEB128 of a non-negative integer below 2³². */
export function uleb(value: number): number[] {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Cannot encode ${value} as unsigned LEB128: it must be an integer in [0, 2³²)`);
  }
  const out: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(value: number): number[] {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
    throw new RangeError(`Cannot encode ${value} as signed LEB128: it must be a 32-bit integer`);
  }
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** A UTF-8 name: its byte length, then its bytes. */
function name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** A vector: item count, then the items' bytes. */
function vec(items: readonly number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/**
 * The instruction stream of one function body, built by chaining: `code.localGet(0).i32Const(4)
 * .i32Add()`. Methods are named after the instructions; memory instructions take a byte offset and
 * use their natural alignment.
 */
export class Code {
  /** Encoded instructions so far. */
  readonly bytes: number[] = [];

  #op(...bytes: number[]): this {
    for (const b of bytes) this.bytes.push(b);
    return this;
  }
  #simd(opcode: number, ...rest: number[]): this {
    return this.#op(0xfd, ...uleb(opcode), ...rest);
  }
  #mem(opcode: number, alignLog2: number, offset: number): this {
    return this.#op(opcode, ...uleb(alignLog2), ...uleb(offset));
  }
  #simdMem(opcode: number, alignLog2: number, offset: number): this {
    return this.#simd(opcode, ...uleb(alignLog2), ...uleb(offset));
  }

  // Control (§5.4.1). Blocks and loops have no result (block type 0x40).
  /** `block` */
  block(): this {
    return this.#op(0x02, 0x40);
  }
  /** `loop` */
  loop(): this {
    return this.#op(0x03, 0x40);
  }
  /** `if` */
  if(): this {
    return this.#op(0x04, 0x40);
  }
  /** `else` */
  else(): this {
    return this.#op(0x05);
  }
  /** `end` */
  end(): this {
    return this.#op(0x0b);
  }
  /** `br depth` */
  br(depth: number): this {
    return this.#op(0x0c, ...uleb(depth));
  }
  /** `br_if depth` */
  brIf(depth: number): this {
    return this.#op(0x0d, ...uleb(depth));
  }
  /** `call index` */
  call(index: number): this {
    return this.#op(0x10, ...uleb(index));
  }

  // Parametric (§5.4.3).
  /** `select`: the first of two values if the condition is non-zero, else the second. */
  select(): this {
    return this.#op(0x1b);
  }

  // Variables (§5.4.4).
  /** `local.get` */
  localGet(index: number): this {
    return this.#op(0x20, ...uleb(index));
  }
  /** `local.set` */
  localSet(index: number): this {
    return this.#op(0x21, ...uleb(index));
  }
  /** `local.tee` */
  localTee(index: number): this {
    return this.#op(0x22, ...uleb(index));
  }

  // Memory (§5.4.6).
  /** `i32.load offset` */
  i32Load(offset = 0): this {
    return this.#mem(0x28, 2, offset);
  }
  /** `f32.load offset` */
  f32Load(offset = 0): this {
    return this.#mem(0x2a, 2, offset);
  }
  /** `f32.store offset` */
  f32Store(offset = 0): this {
    return this.#mem(0x38, 2, offset);
  }

  // Numeric (§5.4.7).
  /** `i32.const` */
  i32Const(value: number): this {
    return this.#op(0x41, ...sleb(value));
  }
  /** `f32.const` */
  f32Const(value: number): this {
    return this.#op(0x43, ...new Uint8Array(new Float32Array([value]).buffer));
  }
  /** `i32.eqz` */
  i32Eqz(): this {
    return this.#op(0x45);
  }
  /** `i32.eq` */
  i32Eq(): this {
    return this.#op(0x46);
  }
  /** `i32.lt_u` */
  i32LtU(): this {
    return this.#op(0x49);
  }
  /** `i32.ge_u` */
  i32GeU(): this {
    return this.#op(0x4f);
  }
  /** `i32.add` */
  i32Add(): this {
    return this.#op(0x6a);
  }
  /** `i32.sub` */
  i32Sub(): this {
    return this.#op(0x6b);
  }
  /** `i32.mul` */
  i32Mul(): this {
    return this.#op(0x6c);
  }
  /** `i32.div_u` */
  i32DivU(): this {
    return this.#op(0x6e);
  }
  /** `i32.rem_u` */
  i32RemU(): this {
    return this.#op(0x70);
  }
  /** `i32.and` */
  i32And(): this {
    return this.#op(0x71);
  }
  /** `i32.shr_u` */
  i32ShrU(): this {
    return this.#op(0x76);
  }
  /** `f32.add` */
  f32Add(): this {
    return this.#op(0x92);
  }
  /** `f32.mul` */
  f32Mul(): this {
    return this.#op(0x94);
  }

  // Vector (§5.4.8; relaxed SIMD).
  /** `v128.load offset` */
  v128Load(offset = 0): this {
    return this.#simdMem(0x00, 4, offset);
  }
  /** `v128.load32_splat offset`: one float broadcast to four lanes. */
  v128Load32Splat(offset = 0): this {
    return this.#simdMem(0x09, 2, offset);
  }
  /** `v128.store offset` */
  v128Store(offset = 0): this {
    return this.#simdMem(0x0b, 4, offset);
  }
  /** `f32x4.extract_lane lane` */
  f32x4ExtractLane(lane: number): this {
    return this.#simd(0x1f, lane);
  }
  /** `f32x4.splat` */
  f32x4Splat(): this {
    return this.#simd(0x13);
  }
  /** `f32x4.add` */
  f32x4Add(): this {
    return this.#simd(0xe4);
  }
  /** `f32x4.mul` */
  f32x4Mul(): this {
    return this.#simd(0xe6);
  }
  /** `f32x4.relaxed_madd` (relaxed SIMD): `a·b + c`, fused or not as the hardware prefers. */
  f32x4RelaxedMadd(): this {
    return this.#simd(0x105);
  }

  // Added for the elementwise and pooling kernels (`_simd_kernels.ts`).
  /** `f32.eq` */
  f32Eq(): this {
    return this.#op(0x5b);
  }
  /** `f32.gt` */
  f32Gt(): this {
    return this.#op(0x5e);
  }
  /** `f32.sub` */
  f32Sub(): this {
    return this.#op(0x93);
  }
  /**
   * `i8x16.shuffle lanes`: byte `i` of the result is byte `lanes[i]` of the two operands laid end to end
   * (0–15 the first, 16–31 the second).
   *
   * @throws {RangeError} If `lanes` is not 16 integers in [0, 32).
   */
  i8x16Shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || !lanes.every((l) => Number.isInteger(l) && l >= 0 && l < 32)) {
      throw new RangeError(
        `Cannot encode i8x16.shuffle with lanes [${lanes}]: it takes exactly 16 byte indices in [0, 32)`,
      );
    }
    return this.#simd(0x0d, ...lanes);
  }
  /** `f32x4.eq`: all ones in each lane where the lanes are equal. */
  f32x4Eq(): this {
    return this.#simd(0x41);
  }
  /** `f32x4.ne`: all ones in each lane where the operands differ (so where either is NaN). */
  f32x4Ne(): this {
    return this.#simd(0x42);
  }
  /** `f32x4.gt`: all ones in each lane where the first operand's lane is greater. */
  f32x4Gt(): this {
    return this.#simd(0x44);
  }
  /** `v128.and` */
  v128And(): this {
    return this.#simd(0x4e);
  }
  /** `v128.andnot`: the first operand and the complement of the second. */
  v128AndNot(): this {
    return this.#simd(0x4f);
  }
  /** `v128.or` */
  v128Or(): this {
    return this.#simd(0x50);
  }
  /** `f32x4.sub` */
  f32x4Sub(): this {
    return this.#simd(0xe5);
  }
  /** `f32x4.pmax`: per lane `a < b ? b : a` (pseudo-maximum: the first operand on ties and NaN). */
  f32x4Pmax(): this {
    return this.#simd(0xeb);
  }

  // Added for the fused ReLU of the row convolution (`_conv_rows_kernel.ts`).
  /** `i32x4.splat` */
  i32x4Splat(): this {
    return this.#simd(0x11);
  }
}

/**
 * Emits `body` `count` times, `count` being an i32 local that the loop counts down (skipped at 0).
 *
 * @param code The function body being written.
 * @param count The loop counter's local index.
 * @param body Emits one iteration.
 */
export function repeat(code: Code, count: number, body: () => void): void {
  code.block().localGet(count).i32Eqz().brIf(0).loop();
  body();
  code.localGet(count).i32Const(1).i32Sub().localTee(count).brIf(0);
  code.end().end();
}

/**
 * Emits `acc = a·b + acc` for v128 locals: `f32x4.relaxed_madd` (fused where the hardware has it)
 * or `f32x4.mul` then `f32x4.add`.
 */
export function madd(code: Code, relaxed: boolean, a: number, b: number, acc: number): void {
  if (relaxed) code.localGet(a).localGet(b).localGet(acc).f32x4RelaxedMadd();
  else code.localGet(acc).localGet(a).localGet(b).f32x4Mul().f32x4Add();
  code.localSet(acc);
}

/** One function of a module. */
export interface FunctionSpec {
  /** Exported under this name when given. */
  readonly export?: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  /** Locals beyond the parameters, in order (indices continue after the parameters). */
  readonly locals: readonly ValType[];
  readonly body: Code;
}

/** A module that imports its memory as `env.memory` and defines functions. */
export interface ModuleSpec {
  /** The imported memory's limits in 64 KiB pages, and whether it is shared between threads. */
  readonly memory: { readonly initial: number; readonly maximum: number; readonly shared: boolean };
  /** Functions; a `call` uses the index in this list. */
  readonly functions: readonly FunctionSpec[];
}

/** A section: id, byte size, contents. */
function section(id: number, contents: number[]): number[] {
  return [id, ...uleb(contents.length), ...contents];
}

/**
 * Encodes a module: type, import, function, export and code sections (§5.5).
 * Function types are deduplicated; locals are run-length encoded.
 */
export function encodeModule(spec: ModuleSpec): Uint8Array {
  const types: number[][] = [];
  const typeKeys: string[] = [];
  const typeOf = spec.functions.map((f) => {
    const type = [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))];
    const key = type.join(",");
    let index = typeKeys.indexOf(key);
    if (index < 0) {
      index = types.length;
      types.push(type);
      typeKeys.push(key);
    }
    return index;
  });
  const { initial, maximum, shared } = spec.memory;
  const limits = [shared ? 0x03 : 0x01, ...uleb(initial), ...uleb(maximum)];
  const imports = vec([[...name("env"), ...name("memory"), 0x02, ...limits]]);
  const exports = spec.functions.flatMap((f, i) =>
    f.export === undefined ? [] : [[...name(f.export), 0x00, ...uleb(i)]]
  );
  const bodies = spec.functions.map((f) => {
    const runs: number[][] = [];
    for (let i = 0; i < f.locals.length;) {
      let j = i;
      while (j < f.locals.length && f.locals[j] === f.locals[i]) j++;
      runs.push([...uleb(j - i), f.locals[i]]);
      i = j;
    }
    const body = [...vec(runs), ...f.body.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, vec(typeOf.map((t) => uleb(t)))),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}
