import assert from "node:assert/strict";
import { Rng } from "@cnnlab/core";
import { supportsKernel } from "./_gemm_kernel.ts";
import { GEMV_MAX_ROWS, gemvFunction } from "./_gemv_kernel.ts";
import { encodeModule } from "./_wasm_emitter.ts";

type RowsTimes = (a: number, lda: number, b: number, ldb: number, y: number, n: number, k: number) => void;

const flavours = [false, true].filter((relaxed) => supportsKernel(relaxed));
const allRows = Array.from({ length: GEMV_MAX_ROWS }, (_, i) => i + 1);

/** A module with `rowsTimes1` … `rowsTimes4` of one flavour (and optional shape), and its memory. */
function instantiate(relaxed: boolean, shape: { unroll?: number; vectors?: number } = {}) {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
  const bytes = encodeModule({
    memory: { initial: 4, maximum: 4, shared: false },
    functions: allRows.map((rows) => gemvFunction({ relaxed, rows, ...shape })),
  });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { memory },
  });
  return {
    f32: new Float32Array(memory.buffer),
    fn: (rows: number) => exports[`rowsTimes${rows}`] as RowsTimes,
  };
}

/** A seeded generator of floats in [-1, 1). */
function random(seed: number): () => number {
  const rng = new Rng(seed);
  return () => 2 * rng.next() - 1;
}

/**
 * Places A (`rows` rows, `lda` floats apart), B (`[k, n]` inside rows of `ldb` floats) and a random
 * y, runs `rowsTimes${rows}`, and compares y with a float64 reference; the tolerance is relative to
 * Σ|terms| so that cancellation cannot fail a correct kernel. Also checks that nothing around y
 * was written.
 */
function check(kernel: ReturnType<typeof instantiate>, rows: number, n: number, k: number, seed: number) {
  const { f32, fn } = kernel;
  const next = random(seed);
  const lda = k + (seed % 3), ldb = n + (seed % 2 === 0 ? 0 : 3 + (seed % 5));
  const aBase = 16, bBase = aBase + rows * lda + 8, yBase = bBase + k * ldb + 8;
  const guard = 8;
  f32.fill(Number.NaN, 0, yBase + rows * n + guard); // padding, A's and B's gaps: never read
  for (let r = 0; r < rows; r++) for (let p = 0; p < k; p++) f32[aBase + r * lda + p] = next();
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) f32[bBase + p * ldb + j] = next();
  for (let i = 0; i < rows * n; i++) f32[yBase + i] = next();
  f32.fill(7, yBase - guard, yBase);
  f32.fill(7, yBase + rows * n, yBase + rows * n + guard);
  const want = new Float64Array(rows * n), scale = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) {
      let sum = f32[yBase + r * n + j], abs = Math.abs(sum);
      for (let p = 0; p < k; p++) {
        const term = f32[aBase + r * lda + p] * f32[bBase + p * ldb + j];
        sum += term;
        abs += Math.abs(term);
      }
      want[r * n + j] = sum;
      scale[r * n + j] = abs;
    }
  }
  fn(rows)(aBase * 4, lda * 4, bBase * 4, ldb * 4, yBase * 4, n, k);
  const where = `rows ${rows}, n ${n}, k ${k}, lda ${lda}, ldb ${ldb}`;
  for (let i = 0; i < rows * n; i++) {
    const got = f32[yBase + i];
    assert.ok(
      Math.abs(got - want[i]) <= 1e-4 * scale[i],
      `y[${i}] = ${got}, expected ${want[i]} (${where})`,
    );
  }
  for (let g = 1; g <= guard; g++) {
    assert.equal(f32[yBase - g], 7, `wrote before y (${where})`);
    assert.equal(f32[yBase + rows * n + g - 1], 7, `wrote past y (${where})`);
  }
}

const ns = [1, 3, 4, 5, 17, 64, 100];
const ks = [1, 2, 3, 5, 8, 33];

for (const relaxed of flavours) {
  const flavour = relaxed ? "relaxed" : "plain";
  Deno.test(`gemvFunction() ${flavour}: rowsTimes1…${GEMV_MAX_ROWS} add A·B into y for odd n and k`, () => {
    const kernel = instantiate(relaxed);
    let seed = 1;
    for (const rows of allRows) for (const n of ns) for (const k of ks) check(kernel, rows, n, k, seed++);
  });

  Deno.test(`gemvFunction() ${flavour}: every unroll and vector width gives the same result`, () => {
    for (const unroll of [1, 2, 3, 4, 8]) {
      for (const vectors of [1, 2, 4]) {
        const kernel = instantiate(relaxed, { unroll, vectors });
        let seed = 100 * unroll + vectors;
        for (const rows of allRows) {
          for (const n of [3, 13, 37]) for (const k of [1, 5, 6, 7, 19]) check(kernel, rows, n, k, seed++);
        }
      }
    }
  });
}

Deno.test("gemvFunction() with k = 0 or n = 0 leaves y alone", () => {
  const kernel = instantiate(flavours[0]);
  for (const rows of allRows) {
    kernel.f32.fill(5, 0, 64);
    kernel.fn(rows)(0, 16, 64, 16, 128, 4, 0);
    kernel.fn(rows)(0, 16, 64, 16, 128, 0, 4);
    assert.deepEqual([...kernel.f32.subarray(0, 64)], new Array(64).fill(5));
  }
});

Deno.test("gemvFunction() validates in a module with shared memory", () => {
  for (const relaxed of flavours) {
    const bytes = encodeModule({
      memory: { initial: 1, maximum: 16, shared: true },
      functions: allRows.map((rows) => gemvFunction({ relaxed, rows })),
    });
    assert.ok(WebAssembly.validate(bytes as BufferSource));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
      env: { memory },
    });
    const f32 = new Float32Array(memory.buffer);
    f32.set([1, 2], 0); // a = [1, 2]
    f32.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 4); // b = [2, 5]
    (exports.rowsTimes1 as RowsTimes)(0, 8, 16, 20, 64, 5, 2);
    assert.deepEqual([...f32.subarray(16, 21)], [13, 16, 19, 22, 25]);
  }
});

Deno.test("gemvFunction() rejects bad rows, unroll and vectors", () => {
  assert.throws(() => gemvFunction({ relaxed: false, rows: 0 }), RangeError);
  assert.throws(() => gemvFunction({ relaxed: false, rows: GEMV_MAX_ROWS + 1 }), RangeError);
  assert.throws(() => gemvFunction({ relaxed: false, rows: 1.5 }), RangeError);
  assert.throws(() => gemvFunction({ relaxed: false, rows: 1, unroll: 0 }), RangeError);
  assert.throws(() => gemvFunction({ relaxed: false, rows: 1, vectors: 3 }), RangeError);
});
