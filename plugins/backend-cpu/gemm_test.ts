import assert from "node:assert/strict";
import {
  cpuGemmSettings,
  type CpuKernels,
  gemm,
  type GemmOptions,
  gemmPacked,
  type GemmPackedOptions,
  gemmTs,
  type PackedGemmA,
  packGemmA,
  type PackGemmAOptions,
  setCpuKernels,
  setCpuThreads,
} from "./gemm.ts";
import { allocate, release } from "./memory.ts";

/** C = op(A)·op(B) (+ C) in float64, from the definition. */
function naive(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  o: GemmOptions,
): Float64Array {
  const [oa, ob, oc] = [o.offsetA ?? 0, o.offsetB ?? 0, o.offsetC ?? 0];
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = o.accumulate ? c[oc + i * n + j] : 0;
      for (let p = 0; p < k; p++) {
        sum += (o.transposeA ? a[oa + p * m + i] : a[oa + i * k + p]) *
          (o.transposeB ? b[ob + j * k + p] : b[ob + p * n + j]);
      }
      out[i * n + j] = sum;
    }
  }
  return out;
}

let seed = 7;
const random = (n: number) =>
  Float32Array.from({ length: n }, () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  });

type Gemm = typeof gemm;

function check(f: Gemm, m: number, n: number, k: number, o: GemmOptions): void {
  const [oa, ob, oc] = [o.offsetA ?? 0, o.offsetB ?? 0, o.offsetC ?? 0];
  const a = random(oa + m * k + 1), b = random(ob + k * n + 1), c = random(oc + m * n + 1);
  const before = c.slice();
  const want = naive(m, n, k, a, b, c, o);
  f(m, n, k, a, b, c, o);
  for (let i = 0; i < m * n; i++) {
    assert.ok(
      Math.abs(c[oc + i] - want[i]) <= 1e-5 * (k + 1),
      `${m}×${n}×${k} ${JSON.stringify(o)}: C[${i}] = ${c[oc + i]}, want ${want[i]}`,
    );
  }
  assert.equal(c[oc + m * n], before[oc + m * n], "wrote past C");
  if (oc > 0) assert.equal(c[oc - 1], before[oc - 1], "wrote before C");
}

// From below the WebAssembly threshold to several threaded tasks.
const SHAPES: [number, number, number][] = [[1, 1, 1], [3, 4, 5], [6, 25, 50], [17, 33, 31], [64, 120, 96], [
  150,
  260,
  40,
]];

function forEachOption(run: (o: GemmOptions) => void): void {
  for (let flags = 0; flags < 8; flags++) {
    run({ transposeA: (flags & 1) !== 0, transposeB: (flags & 2) !== 0, accumulate: (flags & 4) !== 0 });
  }
  run({ transposeB: true, accumulate: true, offsetA: 2, offsetB: 3, offsetC: 4 });
}

Deno.test("gemmTs() matches a triple loop for every transpose, accumulate and offset", () => {
  for (const [m, n, k] of SHAPES) forEachOption((o) => check(gemmTs, m, n, k, o));
});

for (const kernels of ["ts", "wasm"] as CpuKernels[]) {
  for (const threads of [1, 2]) {
    Deno.test(`gemm() with "${kernels}" kernels on ${threads} thread(s) matches a triple loop`, () => {
      const before = setCpuKernels(kernels);
      const beforeThreads = setCpuThreads(threads);
      try {
        for (const [m, n, k] of SHAPES) forEachOption((o) => check(gemm, m, n, k, o));
      } finally {
        setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
        setCpuThreads(beforeThreads);
      }
    });
  }
}

Deno.test("gemm() with plain SIMD matches a triple loop", () => {
  const before = setCpuKernels("wasm", { relaxedSimd: false });
  try {
    assert.equal(cpuGemmSettings().relaxedSimd, false);
    for (const [m, n, k] of SHAPES) forEachOption((o) => check(gemm, m, n, k, o));
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
});

Deno.test("gemm() with k = 0 zeroes C, or leaves it when accumulating", () => {
  const c = new Float32Array([1, 2, 3, 4, 5]);
  gemm(2, 2, 0, new Float32Array(0), new Float32Array(0), c, { offsetC: 1 });
  assert.deepEqual([...c], [1, 0, 0, 0, 0]);
  c.set([1, 2, 3, 4, 5]);
  gemm(2, 2, 0, new Float32Array(0), new Float32Array(0), c, { accumulate: true });
  assert.deepEqual([...c], [1, 2, 3, 4, 5]);
  gemm(0, 3, 4, new Float32Array(0), new Float32Array(12), c);
  assert.deepEqual([...c], [1, 2, 3, 4, 5]);
});

Deno.test("gemm() rejects bad sizes and short arrays with RangeError", () => {
  const x = new Float32Array(6);
  assert.throws(() => gemm(-1, 2, 3, x, x, x), /m is -1/);
  assert.throws(() => gemm(2, 1.5, 3, x, x, x), RangeError);
  assert.throws(() => gemm(2, 2, 4, x, x, x), /a holds 6 values, too few for \[2, 4\]/);
  assert.throws(() => gemm(2, 3, 3, x, x, x, { offsetA: 1 }), /a holds 6 values/);
  assert.throws(() => gemm(2, 3, 2, x, x, x, { transposeB: true, offsetB: -1 }), /b holds 6 values/);
  assert.throws(() => gemm(3, 3, 1, x, x, x), /c holds 6 values, too few for \[3, 3\]/);
});

/** Where a batched case keeps A, B and C: in the kernels' memory (`allocate`) or plain arrays. */
type Storage = "plain" | "memory" | "mixed";

/** Random values, in the kernels' memory or in a plain array. */
function operand(length: number, inMemory: boolean): Float32Array {
  const x = inMemory ? allocate(length) : new Float32Array(length);
  x.set(random(length));
  return x;
}

/**
 * Runs `f` on a batch and compares with the batch's products as separate unbatched `gemmTs` calls:
 * every value of C within 1e-5·(k + 1), every value outside the products (gaps, guards) unchanged.
 */
function checkBatched(f: Gemm, m: number, n: number, k: number, o: GemmOptions, storage: Storage): void {
  const batch = o.batch ?? 1, [oa, ob, oc] = [o.offsetA ?? 0, o.offsetB ?? 0, o.offsetC ?? 0];
  const [sa, sb, sc] = [o.strideA ?? m * k, o.strideB ?? k * n, o.strideC ?? m * n];
  const a = operand(oa + (batch - 1) * sa + m * k + 3, storage !== "plain");
  const b = operand(ob + (batch - 1) * sb + k * n + 2, storage === "memory");
  const c = operand(oc + (batch - 1) * sc + m * n + 5, storage !== "plain");
  try {
    const want = Float32Array.from(c), inside = new Uint8Array(c.length);
    for (let i = 0; i < batch; i++) {
      const single = { ...o, batch: 1, offsetA: oa + i * sa, offsetB: ob + i * sb, offsetC: oc + i * sc };
      delete single.strideA, delete single.strideB, delete single.strideC;
      gemmTs(m, n, k, a, b, want, single);
      inside.fill(1, oc + i * sc, oc + i * sc + m * n);
    }
    f(m, n, k, a, b, c, o);
    assertProducts(`${m}×${n}×${k} ${storage} ${JSON.stringify(o)}`, k, c, want, inside);
  } finally {
    for (const x of [a, b, c]) release(x);
  }
}

/** Every value of C where `inside` within 1e-5·(k + 1) of `want`, every other value equal to it. */
function assertProducts(
  label: string,
  k: number,
  c: Float32Array,
  want: Float32Array,
  inside: Uint8Array,
): void {
  for (let i = 0; i < c.length; i++) {
    if (inside[i]) {
      assert.ok(Math.abs(c[i] - want[i]) <= 1e-5 * (k + 1), `${label}: C[${i}] = ${c[i]}, want ${want[i]}`);
    } else {
      assert.equal(c[i], want[i], `${label}: wrote C[${i}] outside the products`);
    }
  }
}

/** Odd sizes, the Winograd-like `[64, 96]·[96, 49]`, and shapes that a single product runs as ROWS or DOT. */
const BATCH_SHAPES: [number, number, number, number][] = [
  [7, 13, 49, 1],
  [7, 13, 49, 3],
  [13, 97, 7, 16],
  [49, 7, 97, 3],
  [33, 32, 20, 3], // n a multiple of 8: C in place when it is a view
  [3, 37, 257, 3], // a single product would run as ROWS
  [6, 25, 500, 3], // with transposeB, a single product would run as DOT
  [64, 96, 49, 16],
];

/** Every transpose and accumulate; each with default strides, and with offsets and other strides. */
function forEachBatchOption(
  m: number,
  n: number,
  k: number,
  batch: number,
  run: (o: GemmOptions) => void,
): void {
  for (let flags = 0; flags < 8; flags++) {
    const o = {
      transposeA: (flags & 1) !== 0,
      transposeB: (flags & 2) !== 0,
      accumulate: (flags & 4) !== 0,
      batch,
    };
    run(o);
    // Gaps between the products, one A for all of them (or B), overlapping A (or B).
    const shared = flags & 1 ? { strideA: 0, strideB: k * n + 5 } : { strideA: m * k + 7, strideB: 0 };
    run({ ...o, offsetA: 3, offsetB: 5, offsetC: 2, strideC: m * n + 9, ...shared });
    run({ ...o, offsetB: 1, strideA: Math.max(0, m * k - 5), strideB: Math.ceil(k * n / 2), strideC: m * n });
  }
}

Deno.test("gemmTs() with batch matches separate calls, for every transpose, accumulate and stride", () => {
  for (const [m, n, k, batch] of BATCH_SHAPES) {
    forEachBatchOption(m, n, k, batch, (o) => checkBatched(gemmTs, m, n, k, o, "plain"));
  }
});

for (const kernels of ["ts", "wasm"] as CpuKernels[]) {
  // The TypeScript kernels run on one thread, and `allocate` gives them plain arrays.
  for (const threads of kernels === "ts" ? [1] : [1, 2]) {
    Deno.test(`gemm() with batch, "${kernels}" kernels on ${threads} thread(s), matches separate calls`, () => {
      const before = setCpuKernels(kernels);
      const beforeThreads = setCpuThreads(threads);
      try {
        for (const [m, n, k, batch] of BATCH_SHAPES) {
          for (const storage of (kernels === "ts" ? ["plain"] : ["plain", "memory", "mixed"]) as Storage[]) {
            forEachBatchOption(m, n, k, batch, (o) => checkBatched(gemm, m, n, k, o, storage));
          }
        }
      } finally {
        setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
        setCpuThreads(beforeThreads);
      }
    });
  }
}

Deno.test("gemm() with batch runs Winograd's products: 16 × [384, 384]·[384, 49] and 36 × [256, 96]·[96, 196]", () => {
  const beforeThreads = setCpuThreads(2);
  try {
    for (const storage of ["memory", "plain"] as Storage[]) {
      checkBatched(gemm, 384, 49, 384, { batch: 16 }, storage);
      checkBatched(gemm, 256, 196, 96, { batch: 36, accumulate: true }, storage);
    }
  } finally {
    setCpuThreads(beforeThreads);
  }
});

Deno.test("gemm() with batch and k = 0 zeroes each product's C, leaving the gaps", () => {
  const c = new Float32Array([1, 2, 3, 4, 5, 6, 7]);
  gemm(1, 2, 0, new Float32Array(0), new Float32Array(0), c, { batch: 2, offsetC: 1, strideC: 3 });
  assert.deepEqual([...c], [1, 0, 0, 4, 0, 0, 7]);
});

Deno.test("gemm() rejects a bad batch, bad strides and arrays too short for the batch with RangeError", () => {
  const x = new Float32Array(8), y = new Float32Array(100);
  assert.throws(() => gemm(2, 2, 2, x, x, x, { batch: 0 }), /batch is 0; it must be a positive integer/);
  assert.throws(() => gemm(2, 2, 2, x, x, x, { batch: 1.5 }), RangeError);
  assert.throws(() => gemm(1, 1, 1, x, x, x, { batch: 2, strideA: -1 }), /strideA is -1/);
  assert.throws(() => gemm(1, 1, 1, x, x, x, { batch: 2, strideB: 0.5 }), /strideB is 0.5/);
  assert.throws(
    () => gemm(2, 2, 2, x, y, y, { batch: 3 }),
    /a holds 8 values, too few for 3 × \[2, 2\] 4 apart from offset 0/,
  );
  assert.throws(
    () => gemm(1, 2, 2, x, x, y, { batch: 2, offsetB: 1, strideA: 0 }),
    /b holds 8 values, too few for 2 × \[2, 2\] 4 apart from offset 1/,
  );
  assert.throws(
    () => gemm(1, 2, 2, x, x, x, { batch: 5, strideA: 0, strideB: 0 }),
    /c holds 8 values, too few for 5 × \[1, 2\] 2 apart/,
  );
  assert.throws(
    () => gemm(2, 2, 1, x, x, x, { batch: 2, strideA: 0, strideB: 0, strideC: 3 }),
    /strideC is 3, so the 2 products' \[2, 2\] blocks of c overlap; use strideC ≥ 4/,
  );
  const c = new Float32Array(4);
  gemm(1, 1, 2, new Float32Array([1, 2]), new Float32Array([3, 4, 5, 6]), c, {
    batch: 2,
    strideA: 0,
    strideC: 3,
  });
  assert.deepEqual([...c], [11, 0, 0, 17]);
});

Deno.test("setCpuKernels() and setCpuThreads() validate and return the previous settings", () => {
  assert.throws(() => setCpuKernels("gpu" as CpuKernels), RangeError);
  assert.throws(() => setCpuThreads(0), RangeError);
  assert.throws(() => setCpuThreads(2.5), RangeError);
  const before = setCpuKernels("ts");
  assert.equal(setCpuKernels("wasm").kernels, "ts");
  assert.equal(cpuGemmSettings().kernels, "wasm");
  setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  const threads = setCpuThreads(3);
  assert.equal(setCpuThreads(threads), 3);
  assert.equal(cpuGemmSettings().threads, threads);
});

Deno.test("cpuGemmSettings() defaults to WebAssembly on every core", () => {
  const s = cpuGemmSettings();
  assert.equal(s.kernels, "wasm");
  assert.equal(s.threads, navigator.hardwareConcurrency);
});

/** Whether this runtime has the relaxed-SIMD flavour (else both flavours are plain SIMD's). */
const hasRelaxed = (() => {
  const before = setCpuKernels("wasm", { relaxedSimd: true });
  const relaxed = cpuGemmSettings().relaxedSimd;
  setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  return relaxed;
})();

/** Runs `body` with the WebAssembly kernels of one flavour on `threads` threads, then restores. */
function withKernels(relaxed: boolean, threads: number, body: () => void): void {
  const before = setCpuKernels("wasm", { relaxedSimd: relaxed });
  const beforeThreads = setCpuThreads(threads);
  try {
    body();
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
    setCpuThreads(beforeThreads);
  }
}

/**
 * Packs a batch of random A with `pack`, overwrites A with NaN (so that a product that reads A
 * instead of its packing fails), then for each of `runs` runs `gemmPacked` with a fresh random B
 * and C and compares with the products as separate unbatched `gemmTs` calls on the original A.
 */
function checkPacked(
  m: number,
  n: number,
  k: number,
  pack: PackGemmAOptions,
  runs: readonly GemmPackedOptions[],
  storage: Storage,
): void {
  const batch = pack.batch ?? 1, oa = pack.offsetA ?? 0, sa = pack.strideA ?? m * k;
  const a = operand(oa + (batch - 1) * sa + m * k + 3, storage !== "plain"), original = a.slice();
  const packed = packGemmA(m, k, a, pack);
  assert.ok(packed, "packGemmA() gave no packing under the WebAssembly kernels");
  a.fill(NaN);
  try {
    assert.deepEqual([packed.m, packed.k, packed.batch], [m, k, batch]);
    for (const o of runs) {
      const [ob, oc] = [o.offsetB ?? 0, o.offsetC ?? 0];
      const [sb, sc] = [o.strideB ?? k * n, o.strideC ?? m * n];
      const b = operand(ob + (batch - 1) * sb + k * n + 2, storage === "memory");
      const c = operand(oc + (batch - 1) * sc + m * n + 5, storage !== "plain");
      try {
        const want = Float32Array.from(c), inside = new Uint8Array(c.length);
        for (let i = 0; i < batch; i++) {
          gemmTs(m, n, k, original, b, want, {
            transposeA: pack.transposeA,
            transposeB: o.transposeB,
            accumulate: o.accumulate,
            offsetA: oa + i * sa,
            offsetB: ob + i * sb,
            offsetC: oc + i * sc,
          });
          inside.fill(1, oc + i * sc, oc + i * sc + m * n);
        }
        assert.equal(gemmPacked(packed, n, b, c, o), true);
        assertProducts(`${m}×${n}×${k} ${storage} ${JSON.stringify({ ...pack, ...o })}`, k, c, want, inside);
      } finally {
        release(b);
        release(c);
      }
    }
  } finally {
    packed.dispose();
    release(a);
  }
}

/**
 * Every transpose and accumulate, with default strides and with offsets and other strides: the
 * packing options and three runs of one packing (each with its own B and C).
 */
function forEachPackedOption(
  m: number,
  n: number,
  k: number,
  batch: number,
  run: (pack: PackGemmAOptions, runs: GemmPackedOptions[]) => void,
): void {
  for (const transposeA of [false, true]) {
    run({ transposeA, batch }, [
      { transposeB: false },
      { transposeB: true, accumulate: true },
      { accumulate: true },
    ]);
    run({ transposeA, batch, offsetA: 3, strideA: batch > 1 ? m * k + 7 : undefined }, [
      { transposeB: true, offsetB: 5, offsetC: 2, strideB: k * n + 5, strideC: m * n + 9 },
      { offsetB: 1, strideB: 0, strideC: m * n, accumulate: true },
      { transposeB: true, strideB: Math.ceil(k * n / 2), offsetC: 4 },
    ]);
    // One A for every product.
    if (batch > 1) run({ transposeA, batch, strideA: 0 }, [{ accumulate: true, strideC: m * n + 1 }]);
  }
}

/**
 * Odd m (not a multiple of 4 or 6), shapes that a single product runs as ROWS (m ≤ 4) or DOT (long
 * A·Bᵀ), C in place (n a multiple of 8), B read in place (few A panels) or packed.
 */
const PACKED_SHAPES: [number, number, number, number][] = [
  [7, 13, 49, 1],
  [7, 13, 49, 3],
  [13, 97, 7, 16],
  [3, 37, 257, 1],
  [6, 25, 500, 1],
  [33, 32, 20, 3],
  [64, 96, 49, 16],
  [61, 9, 70, 36],
];

for (const relaxed of hasRelaxed ? [true, false] : [false]) {
  for (const threads of [1, 2]) {
    Deno.test(`gemmPacked() (${relaxed ? "relaxed" : "plain"} SIMD, ${threads} thread(s)) matches separate gemmTs calls`, () => {
      withKernels(relaxed, threads, () => {
        for (const [m, n, k, batch] of PACKED_SHAPES) {
          for (const storage of ["plain", "memory", "mixed"] as Storage[]) {
            forEachPackedOption(m, n, k, batch, (pack, runs) => checkPacked(m, n, k, pack, runs, storage));
          }
        }
      });
    });
  }
}

Deno.test("gemmPacked() runs Winograd's products with one packing for several B", () => {
  withKernels(hasRelaxed, 2, () => {
    const runs = [{}, { accumulate: true }, { transposeB: true }];
    for (const storage of ["memory", "plain"] as Storage[]) {
      checkPacked(384, 16, 384, { batch: 36 }, runs, storage);
      checkPacked(256, 196, 96, { batch: 36 }, runs, storage);
    }
    checkPacked(384, 49, 384, { batch: 16, transposeA: true }, runs, "mixed");
    checkPacked(256, 196, 96, { batch: 1 }, runs, "memory");
  });
  withKernels(
    hasRelaxed,
    1,
    () => checkPacked(384, 16, 384, { batch: 16 }, [{}, { accumulate: true }], "memory"),
  );
});

Deno.test("packGemmA() lays out [panel][k][mr] panels, the last padded with zeros", () => {
  for (const relaxed of hasRelaxed ? [true, false] : [false]) {
    withKernels(relaxed, 1, () => {
      const [m, k, batch] = [13, 5, 2];
      const a = random(batch * k * m);
      const packed = packGemmA(m, k, a, { batch, transposeA: true });
      assert.ok(packed);
      const { mr, storage } = packed, panels = Math.ceil(m / mr);
      assert.equal(mr, relaxed ? 6 : 4);
      assert.equal(packed.relaxedSimd, relaxed);
      assert.ok(storage.length >= batch * panels * mr * k);
      for (let i = 0; i < batch; i++) {
        for (let p = 0; p < panels; p++) {
          for (let q = 0; q < k; q++) {
            for (let r = 0; r < mr; r++) {
              const row: number = p * mr + r, at: number = ((i * panels + p) * k + q) * mr + r;
              // op(A_i)[row, q] = A_i[q, row] (transposed storage).
              assert.equal(
                packed.storage[at],
                row < m ? a[i * k * m + q * m + row] : 0,
                `product ${i} [${row}, ${q}]`,
              );
            }
          }
        }
      }
      packed.dispose();
    });
  }
});

Deno.test("gemmPacked() refuses a disposed packing and one of another flavour, leaving C alone", () => {
  const [m, n, k] = [9, 11, 40];
  const a = random(m * k), b = random(k * n), want = new Float32Array(m * n), c = new Float32Array(m * n);
  gemmTs(m, n, k, a, b, want);
  const flavours = hasRelaxed ? [true, false] : [false];
  for (const relaxed of flavours) {
    let packed: PackedGemmA | undefined;
    withKernels(relaxed, 1, () => {
      packed = packGemmA(m, k, a);
      assert.ok(packed);
      assert.equal(gemmPacked(packed, n, b, c), true);
      assertProducts("packed", k, c, want, new Uint8Array(m * n).fill(1));
    });
    assert.ok(packed);
    c.fill(7);
    // Another flavour (when the runtime has two), or the TypeScript kernels.
    if (hasRelaxed) withKernels(!relaxed, 1, () => assert.equal(gemmPacked(packed!, n, b, c), false));
    const before = setCpuKernels("ts");
    try {
      assert.equal(gemmPacked(packed, n, b, c), false);
    } finally {
      setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
    }
    assert.deepEqual([...c], new Array(m * n).fill(7));
    // Back on its flavour, it fits again; once disposed, never.
    withKernels(relaxed, 1, () => {
      assert.equal(gemmPacked(packed!, n, b, c), true);
      assertProducts("repacked flavour", k, c, want, new Uint8Array(m * n).fill(1));
      c.fill(7);
      assert.equal(packed!.disposed, false);
      packed!.dispose();
      packed!.dispose();
      assert.equal(packed!.disposed, true);
      assert.equal(gemmPacked(packed!, n, b, c), false);
    });
    assert.deepEqual([...c], new Array(m * n).fill(7));
  }
});

Deno.test("packGemmA() gives no packing under the TypeScript kernels or for an empty A", () => {
  const before = setCpuKernels("ts");
  try {
    assert.equal(packGemmA(2, 3, random(6)), undefined);
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
  withKernels(hasRelaxed, 1, () => {
    assert.equal(packGemmA(0, 3, new Float32Array(0)), undefined);
    assert.equal(packGemmA(3, 0, new Float32Array(0)), undefined);
  });
});

Deno.test("gemmPacked() with n = 0 does nothing and succeeds", () => {
  withKernels(hasRelaxed, 1, () => {
    const packed = packGemmA(2, 3, random(6));
    assert.ok(packed);
    assert.equal(gemmPacked(packed, 0, new Float32Array(0), new Float32Array(0)), true);
    packed.dispose();
  });
});

Deno.test("packGemmA() and gemmPacked() reject bad sizes, strides and short arrays with RangeError", () => {
  withKernels(hasRelaxed, 1, () => {
    const x = new Float32Array(6);
    assert.throws(() => packGemmA(-1, 2, x), /m is -1/);
    assert.throws(() => packGemmA(2, 1.5, x), RangeError);
    assert.throws(() => packGemmA(2, 4, x), /a holds 6 values, too few for \[2, 4\]/);
    assert.throws(() => packGemmA(2, 3, x, { transposeA: true, offsetA: 1 }), /a holds 6 values/);
    assert.throws(() => packGemmA(1, 1, x, { batch: 0 }), /batch is 0; it must be a positive integer/);
    assert.throws(() => packGemmA(1, 1, x, { batch: 2, strideA: -1 }), /strideA is -1/);
    assert.throws(
      () => packGemmA(1, 1, x, { batch: 7 }),
      /a holds 6 values, too few for 7 × \[1, 1\] 1 apart/,
    );
    assert.throws(() => packGemmA(2, 3, x, { batch: 2 }), /Cannot pack A for gemm: a holds 6 values/);
    const packed = packGemmA(2, 3, x, { batch: 2, strideA: 0 });
    assert.ok(packed);
    try {
      const y = new Float32Array(100);
      assert.throws(() => gemmPacked(packed, -2, y, y), /n is -2/);
      assert.throws(() => gemmPacked(packed, 2, x, y), /b holds 6 values, too few for 2 × \[3, 2\] 6 apart/);
      assert.throws(() => gemmPacked(packed, 2, y, x), /c holds 6 values, too few for 2 × \[2, 2\] 4 apart/);
      assert.throws(() => gemmPacked(packed, 2, y, y, { strideB: 0.5 }), /strideB is 0.5/);
      assert.throws(() => gemmPacked(packed, 2, y, y, { strideC: 3 }), /strideC is 3, so the 2 products/);
      assert.throws(() => gemmPacked(packed, 2, y, y, { offsetB: -1 }), /b holds 100 values/);
    } finally {
      packed.dispose();
    }
  });
});
