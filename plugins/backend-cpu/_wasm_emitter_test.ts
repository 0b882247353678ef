import assert from "node:assert/strict";
import { Code, encodeModule, F32, I32, sleb, uleb, V128 } from "./_wasm_emitter.ts";

Deno.test("uleb() encodes the specification's examples and the 32-bit edges", () => {
  assert.deepEqual(uleb(0), [0x00]);
  assert.deepEqual(uleb(127), [0x7f]);
  assert.deepEqual(uleb(128), [0x80, 0x01]);
  assert.deepEqual(uleb(624485), [0xe5, 0x8e, 0x26]);
  assert.deepEqual(uleb(0xffffffff), [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.throws(() => uleb(-1), RangeError);
  assert.throws(() => uleb(2 ** 32), RangeError);
  assert.throws(() => uleb(1.5), RangeError);
});

Deno.test("sleb() encodes signs in bit 6 of the last byte", () => {
  assert.deepEqual(sleb(0), [0x00]);
  assert.deepEqual(sleb(63), [0x3f]);
  assert.deepEqual(sleb(64), [0xc0, 0x00]);
  assert.deepEqual(sleb(-1), [0x7f]);
  assert.deepEqual(sleb(-64), [0x40]);
  assert.deepEqual(sleb(-65), [0xbf, 0x7f]);
  assert.deepEqual(sleb(-123456), [0xc0, 0xbb, 0x78]);
  assert.deepEqual(sleb(0x7fffffff), [0xff, 0xff, 0xff, 0xff, 0x07]);
  assert.deepEqual(sleb(-0x80000000), [0x80, 0x80, 0x80, 0x80, 0x78]);
  assert.throws(() => sleb(2 ** 31), RangeError);
});

Deno.test("Code encodes scalar, control and memory instructions with their immediates", () => {
  const code = new Code().localGet(1).localSet(200).localTee(3).i32Const(-1).i32Const(300).i32Add()
    .loop().brIf(0).end().f32Load(8).f32Store(0).call(2);
  assert.deepEqual(code.bytes, [
    0x20,
    0x01, // local.get 1
    0x21,
    0xc8,
    0x01, // local.set 200
    0x22,
    0x03, // local.tee 3
    0x41,
    0x7f, // i32.const -1
    0x41,
    0xac,
    0x02, // i32.const 300
    0x6a, // i32.add
    0x03,
    0x40,
    0x0d,
    0x00,
    0x0b, // loop (no result) br_if 0 end
    0x2a,
    0x02,
    0x08, // f32.load align=4 offset=8
    0x38,
    0x02,
    0x00, // f32.store align=4 offset=0
    0x10,
    0x02, // call 2
  ]);
});

Deno.test("Code encodes SIMD instructions behind the 0xfd prefix with LEB128 opcodes", () => {
  assert.deepEqual(new Code().v128Load(16).bytes, [0xfd, 0x00, 0x04, 0x10]);
  assert.deepEqual(new Code().v128Load32Splat(200).bytes, [0xfd, 0x09, 0x02, 0xc8, 0x01]);
  assert.deepEqual(new Code().v128Store(0).bytes, [0xfd, 0x0b, 0x04, 0x00]);
  assert.deepEqual(new Code().f32x4Splat().f32x4Add().f32x4Mul().bytes, [
    0xfd,
    0x13,
    0xfd,
    0xe4,
    0x01,
    0xfd,
    0xe6,
    0x01,
  ]);
  assert.deepEqual(new Code().f32x4RelaxedMadd().bytes, [0xfd, 0x85, 0x02]);
});

Deno.test("encodeModule() writes the sections byte for byte", () => {
  const bytes = encodeModule({
    memory: { initial: 1, maximum: 2, shared: false },
    functions: [{ export: "f", params: [I32], results: [], locals: [V128, V128, I32], body: new Code() }],
  });
  assert.deepEqual([...bytes], [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00, // magic, version
    0x01,
    0x05,
    0x01,
    0x60,
    0x01,
    0x7f,
    0x00, // type: [(i32) -> ()]
    0x02,
    0x10,
    0x01,
    0x03,
    ...[0x65, 0x6e, 0x76],
    0x06,
    ...[0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79],
    0x02,
    0x01,
    0x01,
    0x02, // import env.memory, limits 1..2
    0x03,
    0x02,
    0x01,
    0x00, // function 0 has type 0
    0x07,
    0x05,
    0x01,
    0x01,
    0x66,
    0x00,
    0x00, // export "f" = function 0
    0x0a,
    0x08,
    0x01,
    0x06,
    0x02,
    0x02,
    0x7b,
    0x01,
    0x7f,
    0x0b, // code: locals 2×v128, 1×i32; end
  ]);
});

Deno.test("encodeModule() builds a module that validates and runs, shared memory included", () => {
  // sum(ptr, n) = Σ f32 at ptr… over n values, four lanes at a time (n a multiple of 4).
  const [ptr, n, acc] = [0, 1, 2];
  const body = new Code().loop()
    .localGet(acc).localGet(ptr).v128Load().f32x4Add().localSet(acc)
    .localGet(ptr).i32Const(16).i32Add().localSet(ptr)
    .localGet(n).i32Const(4).i32Sub().localTee(n).brIf(0)
    .end()
    // Store the four lanes at 0 for JavaScript to add.
    .i32Const(0).localGet(acc).v128Store();
  for (const shared of [false, true]) {
    const bytes = encodeModule({
      memory: { initial: 1, maximum: 4, shared },
      functions: [{ export: "sum", params: [I32, I32], results: [], locals: [V128], body }],
    });
    assert.ok(WebAssembly.validate(bytes as BufferSource));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
      env: { memory },
    });
    const f32 = new Float32Array(memory.buffer);
    f32.set([1, 2, 3, 4, 5, 6, 7, 8], 16);
    (exports.sum as (p: number, n: number) => void)(64, 8);
    assert.deepEqual([...f32.subarray(0, 4)], [6, 8, 10, 12]);
  }
});

Deno.test("encodeModule() deduplicates function types", () => {
  const f = { params: [F32], results: [F32], locals: [], body: new Code().localGet(0) } as const;
  const bytes = encodeModule({ memory: { initial: 1, maximum: 1, shared: false }, functions: [f, f] });
  // Type section: one type; function section: both use type 0.
  assert.deepEqual([...bytes.subarray(8, 16)], [0x01, 0x06, 0x01, 0x60, 0x01, 0x7d, 0x01, 0x7d]);
  assert.ok(WebAssembly.validate(bytes as BufferSource));
});

Deno.test("Code encodes the comparison, bitwise and shuffle instructions of the elementwise kernels", () => {
  assert.deepEqual(new Code().f32Eq().f32Gt().f32Sub().bytes, [0x5b, 0x5e, 0x93]);
  assert.deepEqual(new Code().f32x4Eq().f32x4Ne().f32x4Gt().bytes, [0xfd, 0x41, 0xfd, 0x42, 0xfd, 0x44]);
  assert.deepEqual(new Code().v128And().v128AndNot().v128Or().bytes, [0xfd, 0x4e, 0xfd, 0x4f, 0xfd, 0x50]);
  // Opcodes from 0x80 take two LEB128 bytes.
  assert.deepEqual(new Code().f32x4Sub().f32x4Pmax().bytes, [0xfd, 0xe5, 0x01, 0xfd, 0xeb, 0x01]);
  const lanes = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 31];
  assert.deepEqual(new Code().i8x16Shuffle(lanes).bytes, [0xfd, 0x0d, ...lanes]);
  assert.throws(() => new Code().i8x16Shuffle(lanes.slice(1)), RangeError);
  assert.throws(() => new Code().i8x16Shuffle([...lanes.slice(1), 32]), RangeError);
});

Deno.test("Code's f32x4.gt, f32x4.ne and f32x4.pmax compute what the specification says", () => {
  // f(a, b, out): out[0..3] = gt(a, b) & a, out[4..7] = pmax(a, b), out[8..11] = ne(a, b) & a
  // (addresses in bytes).
  const body = new Code()
    .localGet(2).localGet(0).v128Load().localGet(1).v128Load().f32x4Gt().localGet(0).v128Load().v128And()
    .v128Store()
    .localGet(2).localGet(0).v128Load().localGet(1).v128Load().f32x4Pmax().v128Store(16)
    .localGet(2).localGet(0).v128Load().localGet(1).v128Load().f32x4Ne().localGet(0).v128Load().v128And()
    .v128Store(32);
  const bytes = encodeModule({
    memory: { initial: 1, maximum: 1, shared: false },
    functions: [{ export: "f", params: [I32, I32, I32], results: [], locals: [], body }],
  });
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { memory },
  });
  const f32 = new Float32Array(memory.buffer);
  f32.set([1, -2, 3, -0], 0);
  f32.set([0, -3, 5, 0], 4);
  (exports.f as (a: number, b: number, out: number) => void)(0, 16, 32);
  assert.deepEqual([...f32.subarray(8, 12)], [1, -2, 0, 0]);
  // pmax(-0, 0) keeps the first operand, where f32x4.max would give +0.
  assert.deepEqual([...f32.subarray(12, 16)], [1, -2, 5, -0]);
  // −0 and +0 are equal; NaN differs from everything, itself included.
  assert.deepEqual([...f32.subarray(16, 20)], [1, -2, 3, 0]);
  f32.set([NaN, 1, NaN, 2], 0);
  f32.set([NaN, 1, 0, 3], 4);
  (exports.f as (a: number, b: number, out: number) => void)(0, 16, 32);
  assert.deepEqual([...f32.subarray(16, 20)], [NaN, 0, NaN, 2]);
});

Deno.test("v128Load32Splat(offset) broadcasts the float `offset` bytes past the address", () => {
  assert.deepEqual(new Code().v128Load32Splat(20).bytes, [0xfd, 0x09, 0x02, 0x14]); // align=4 offset=20
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const body = new Code().localGet(0).localGet(1).v128Load32Splat(8).v128Store();
  const bytes = encodeModule({
    memory: { initial: 1, maximum: 1, shared: false },
    functions: [{ export: "f", params: [I32, I32], results: [], locals: [], body }],
  });
  const f = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { memory } })
    .exports.f as (to: number, from: number) => void;
  const f32 = new Float32Array(memory.buffer);
  f32.set([1, 2, 3, 4], 16);
  f(0, 64);
  assert.deepEqual([...f32.subarray(0, 4)], [3, 3, 3, 3]);
});
