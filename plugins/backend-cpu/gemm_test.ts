import assert from "node:assert/strict";
import {
  cpuGemmSettings,
  type CpuKernels,
  gemm,
  type GemmOptions,
  gemmTs,
  setCpuKernels,
  setCpuThreads,
} from "./gemm.ts";

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
