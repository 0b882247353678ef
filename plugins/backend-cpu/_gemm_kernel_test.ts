import assert from "node:assert/strict";
import { gemmKernelBytes, type GemmKernelShape, KERNEL_SHAPES, supportsKernel } from "./_gemm_kernel.ts";

type Fn = (...args: number[]) => void;

function instantiate(shape: GemmKernelShape) {
  const memory = new WebAssembly.Memory({ initial: 8, maximum: 16 });
  const module = new WebAssembly.Module(gemmKernelBytes(shape, { shared: false }) as BufferSource);
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fn = (name: string) => exports[name] as Fn;
  return {
    f32: new Float32Array(memory.buffer),
    block: fn("block"),
    packA: fn("packA"),
    packB: fn("packB"),
    dot: fn("dot"),
  };
}

/** Small integers, so that float32 sums are exact whatever the order or fusion. */
const ints = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 13) - 6);

const flavours = [false, true].filter((relaxed) => supportsKernel(relaxed));
const shapeOf = (relaxed: boolean): GemmKernelShape => ({
  ...KERNEL_SHAPES[relaxed ? "relaxed" : "plain"],
  relaxed,
});

/**
 * Runs `block` on `mPanels × nPanels` panels with depth `kc`, the panels written here from the
 * layout's definition (B packed, or read in place with `inPlace`), and compares C with a triple loop.
 */
function checkBlock(
  shape: GemmKernelShape,
  mPanels: number,
  nPanels: number,
  kc: number,
  lastRows: number,
  inPlace = false,
) {
  const { mr, nr } = shape;
  const { f32, block } = instantiate(shape);
  const m = mPanels * mr, n = nPanels * nr;
  const a = ints(m * kc, 1), b = ints(kc * n, 2); // row-major [m, kc] and [kc, n]
  const aBase = 256, bBase = aBase + m * kc + 64, cBase = bBase + kc * n + 64;
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < kc; p++) {
      f32[aBase + Math.floor(i / mr) * kc * mr + p * mr + (i % mr)] = a[i * kc + p];
    }
  }
  if (inPlace) f32.set(b, bBase);
  else {
    for (let p = 0; p < kc; p++) {
      for (let j = 0; j < n; j++) {
        f32[bBase + Math.floor(j / nr) * kc * nr + p * nr + (j % nr)] = b[p * n + j];
      }
    }
  }
  const [bpStride, ldb] = inPlace ? [nr * 4, n * 4] : [kc * nr * 4, nr * 4];
  for (const acc of [0, 1]) {
    const before = ints(m * n, 3);
    f32.set(before, cBase);
    block(
      aBase * 4,
      bBase * 4,
      cBase * 4,
      mPanels,
      nPanels,
      kc,
      kc * mr * 4,
      bpStride,
      n * 4,
      acc,
      lastRows,
      ldb,
    );
    const rows = (mPanels - 1) * mr + lastRows;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let want = before[i * n + j];
        if (i < rows) {
          want = acc ? want : 0;
          for (let p = 0; p < kc; p++) want += a[i * kc + p] * b[p * n + j];
        }
        const label = `${
          JSON.stringify(shape)
        } ${mPanels}×${nPanels} panels, kc ${kc}, acc ${acc}: C[${i}, ${j}]`;
        assert.equal(f32[cBase + i * n + j], want, label);
      }
    }
  }
}

Deno.test("supportsKernel() accepts plain SIMD on this runtime", () => {
  assert.ok(supportsKernel(false));
});

Deno.test("gemmKernelBytes() block matches a triple loop for both flavours, unrolled and tail steps", () => {
  for (const relaxed of flavours) {
    for (const kc of [1, 7, 8, 19]) checkBlock(shapeOf(relaxed), 2, 3, kc, shapeOf(relaxed).mr);
  }
});

Deno.test("gemmKernelBytes() block reads B in place with a row stride", () => {
  for (const relaxed of flavours) checkBlock(shapeOf(relaxed), 2, 3, 11, 2, true);
});

Deno.test("gemmKernelBytes() block writes only lastRows rows of its last A panel", () => {
  for (const relaxed of flavours) {
    for (let rows = 1; rows <= shapeOf(relaxed).mr; rows++) checkBlock(shapeOf(relaxed), 2, 2, 9, rows);
    checkBlock(shapeOf(relaxed), 1, 1, 3, 1);
  }
});

Deno.test("gemmKernelBytes() block handles other tile shapes", () => {
  checkBlock({ mr: 3, nr: 12, unroll: 2, dr: 1, dc: 1, relaxed: false }, 2, 2, 5, 2);
  checkBlock({ mr: 1, nr: 4, unroll: 1, dr: 1, dc: 1, relaxed: false }, 3, 2, 4, 1);
});

Deno.test("gemmKernelBytes() packA and packB write panels with zeros past count", () => {
  const shape = shapeOf(false);
  const { f32, packA, packB } = instantiate(shape);
  const [rows, cols] = [7, 5]; // a row-major [7, 5] source
  const src = ints(rows * cols, 4), srcBase = 64, dstBase = 512;
  f32.set(src, srcBase);
  // Width along rows (strideW = a row, strideP = one float) and along columns (the transpose).
  for (
    const [pack, width, count, k, sw, sp] of [
      [packA, shape.mr, rows, cols, cols, 1],
      [packB, shape.nr, rows, cols, cols, 1],
      [packA, shape.mr, cols, rows, 1, cols],
      [packB, shape.nr, cols, rows, 1, cols],
    ] as const
  ) {
    const panels = Math.ceil(count / width);
    f32.fill(NaN, dstBase, dstBase + panels * k * width);
    pack(dstBase * 4, srcBase * 4, 0, panels, count, k, sw * 4, sp * 4);
    for (let panel = 0; panel < panels; panel++) {
      for (let p = 0; p < k; p++) {
        for (let w = 0; w < width; w++) {
          const wi = panel * width + w;
          const want = wi < count ? src[wi * sw + p * sp] : 0;
          assert.equal(
            f32[dstBase + panel * k * width + p * width + w],
            want,
            `panel ${panel}, p ${p}, w ${w}`,
          );
        }
      }
    }
  }
  // Full panels of a contiguous source take the vector path.
  const wide = ints(3 * 16, 5);
  f32.set(wide, srcBase);
  packB(dstBase * 4, srcBase * 4, 1, 2, 16, 3, 4, 64);
  for (let p = 0; p < 3; p++) {
    assert.deepEqual([...f32.subarray(dstBase + 24 + p * 8, dstBase + 32 + p * 8)], [
      ...wide.subarray(p * 16 + 8, p * 16 + 16),
    ]);
  }
});

Deno.test("gemmKernelBytes() dot matches a triple loop over rows of A and B", () => {
  for (const relaxed of flavours) {
    const shape = shapeOf(relaxed);
    const { f32, dot } = instantiate(shape);
    for (const kc of [1, 3, 4, 9, 33]) {
      const mTiles = 2, nTiles = 3, m = mTiles * shape.dr, n = nTiles * shape.dc, ld = kc + 5;
      const a = ints(m * ld, 6), b = ints(n * ld, 7); // rows of length ld, the first kc used
      const aBase = 64, bBase = aBase + m * ld, cBase = bBase + n * ld;
      f32.set(a, aBase);
      f32.set(b, bBase);
      dot(aBase * 4, bBase * 4, cBase * 4, mTiles, nTiles, kc, ld * 4, ld * 4, n * 4);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let want = 0;
          for (let p = 0; p < kc; p++) want += a[i * ld + p] * b[j * ld + p];
          assert.equal(f32[cBase + i * n + j], want, `relaxed ${relaxed}, kc ${kc}: C[${i}, ${j}]`);
        }
      }
    }
  }
});

Deno.test("gemmKernelBytes() rejects impossible shapes", () => {
  const base = { mr: 4, nr: 8, unroll: 4, dr: 3, dc: 3, relaxed: false };
  for (const bad of [{ nr: 6 }, { mr: 0 }, { unroll: 3 }, { dr: 0 }, { dc: 1.5 }]) {
    assert.throws(() => gemmKernelBytes({ ...base, ...bad }, { shared: false }), RangeError);
  }
});
