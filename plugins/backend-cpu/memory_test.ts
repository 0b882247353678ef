import assert from "node:assert/strict";
import { ops, Registry, Rng, tidy } from "@cnnlab/core";
import cpu from "./mod.ts";
import { allocate, allocateZeros, cpuMemoryStats, release, retain } from "./memory.ts";
import { gemm, setCpuKernels } from "./gemm.ts";

const shared = (x: Float32Array) => x.buffer instanceof SharedArrayBuffer;

Deno.test("allocate() places storage in the kernels' memory; release() makes its block reusable", () => {
  const x = allocate(1000);
  assert.ok(shared(x), "a block of the shared WebAssembly memory");
  const before = cpuMemoryStats();
  release(x);
  assert.ok(cpuMemoryStats().liveBytes < before.liveBytes);
  const y = allocate(1000);
  assert.equal(y.byteOffset, x.byteOffset, "the freed block is handed out again");
  release(y);
  release(y); // a second release of the same storage does nothing
  const z = allocate(1000), w = allocate(1000);
  assert.notEqual(z.byteOffset, w.byteOffset, "the double release did not free the block twice");
  release(z);
  release(w);
});

Deno.test("allocateZeros() zeroes a reused block", () => {
  const x = allocate(64);
  x.fill(7);
  release(x);
  const y = allocateZeros(64);
  assert.equal(y.byteOffset, x.byteOffset);
  assert.deepEqual([...y], new Array(64).fill(0));
  release(y);
});

Deno.test("retain() keeps a shared block alive until every owner released it", () => {
  const x = allocate(256);
  retain(x);
  release(x);
  const other = allocate(256);
  assert.notEqual(other.byteOffset, x.byteOffset, "the block still had an owner");
  release(x);
  const again = allocate(256);
  assert.equal(again.byteOffset, x.byteOffset);
  release(other);
  release(again);
});

Deno.test("with the TypeScript kernels storage is a plain array, and a plain array is left alone", () => {
  const before = setCpuKernels("ts");
  try {
    const x = allocate(16);
    assert.ok(!shared(x));
    release(x);
    retain(x);
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
  assert.throws(() => allocate(-1), /Cannot allocate CPU storage of -1 values/);
});

Deno.test("gemm() reads and writes storage blocks in place and agrees with plain arrays", () => {
  const m = 37, n = 53, k = 29, rng = new Rng(4);
  const a = allocate(m * k), b = allocate(k * n), c = allocate(m * n);
  for (const t of [a, b]) for (let i = 0; i < t.length; i++) t[i] = rng.next() - 0.5;
  gemm(m, n, k, a, b, c);
  const plain = new Float32Array(m * n);
  gemm(m, n, k, a.slice(), b.slice(), plain);
  assert.deepEqual([...c], [...plain]);
  for (const t of [a, b, c]) release(t);
});

Deno.test("a training step that disposes what it creates stops growing the kernels' memory", async () => {
  const registry = new Registry().use(cpu);
  const device = await registry.device("cpu");
  const rng = new Rng(1);
  const w = device.tensor(Float32Array.from({ length: 64 * 32 }, () => rng.next() - 0.5), [64, 32]);
  const x = device.tensor(Float32Array.from({ length: 16 * 64 }, () => rng.next()), [16, 64]);
  const step = () =>
    tidy(() => {
      const y = ops.exp(ops.scale(ops.matmul(x, w), 0.01));
      w.assign(ops.sub(w, ops.scale(ops.matmul(x, ops.reshape(y, [16, 32]), { transposeA: true }), 1e-3)));
      return [];
    });
  step();
  const after1 = cpuMemoryStats();
  for (let i = 0; i < 20; i++) step();
  const after21 = cpuMemoryStats();
  assert.equal(after21.memoryBytes, after1.memoryBytes);
  assert.equal(after21.liveBlocks, after1.liveBlocks);
  w.dispose();
  x.dispose();
});
