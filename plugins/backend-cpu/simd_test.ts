import assert from "node:assert/strict";
import { Rng } from "@cnnlab/core";
import { allocate, release } from "./memory.ts";
import {
  addChannelBias,
  biasAddSimd,
  binarySimd,
  channelSumsSimd,
  maxPoolGrad2x2Simd,
  maxPoolSimd,
  reluGradSimd,
  reluSimd,
} from "./simd.ts";
import { setCpuKernels } from "./gemm.ts";

const rng = new Rng(9);
/** Storage blocks of random values in [-1, 1). */
const blocks = (...sizes: number[]) =>
  sizes.map((n) => {
    const x = allocate(n);
    for (let i = 0; i < n; i++) x[i] = 2 * rng.next() - 1;
    return x;
  });

Deno.test("SIMD wrappers compute on storage blocks what the definitions say", () => {
  const [x, y, g, d] = blocks(103, 103, 103, 103);
  assert.ok(reluSimd(x, y));
  assert.deepEqual([...y], [...x].map((v) => (v > 0 ? v : 0)));
  assert.ok(reluGradSimd(g, x, d));
  assert.deepEqual([...d], [...x].map((v, i) => (v > 0 ? g[i] : 0)));
  assert.ok(binarySimd("mul", x, g, y));
  assert.deepEqual([...y], [...x].map((v, i) => Math.fround(v * g[i])));

  const [img, bias, out] = blocks(2 * 3 * 5, 3, 2 * 3 * 5);
  assert.ok(biasAddSimd(img, bias, out, 3, 5));
  assert.deepEqual([...out], [...img].map((v, i) => Math.fround(v + bias[Math.floor(i / 5) % 3])));
  const [sums] = blocks(3);
  assert.ok(channelSumsSimd(img, sums, 3, 5));
  for (let c = 0; c < 3; c++) {
    let want = 0;
    for (let b = 0; b < 2; b++) for (let i = 0; i < 5; i++) want += img[(b * 3 + c) * 5 + i];
    assert.ok(Math.abs(sums[c] - want) < 1e-5, `channel ${c}: ${sums[c]} vs ${want}`);
  }

  const geometry = { planes: 2, h: 5, w: 7, oh: 2, ow: 3, kh: 2, kw: 2, sh: 2, sw: 2 };
  const [px, py, pdy, pdx] = blocks(70, 12, 12, 70);
  assert.ok(maxPoolSimd(px, py, geometry));
  assert.ok(maxPoolGrad2x2Simd(px, pdy, pdx, geometry));
  for (let p = 0; p < 2; p++) {
    for (let oy = 0; oy < 2; oy++) {
      for (let ox = 0; ox < 3; ox++) {
        let best = p * 35 + 2 * oy * 7 + 2 * ox;
        for (const at of [1, 7, 8].map((o) => p * 35 + 2 * oy * 7 + 2 * ox + o)) {
          if (px[at] > px[best]) best = at;
        }
        const o = (p * 2 + oy) * 3 + ox;
        assert.equal(py[o], px[best]);
        assert.equal(pdx[best], pdy[o]);
      }
    }
  }
  assert.equal(pdx.filter((v) => v !== 0).length, 12, "dx is zero outside the winners");
  for (const t of [x, y, g, d, img, bias, out, sums, px, py, pdy, pdx]) release(t);
});

Deno.test("SIMD wrappers decline plain arrays, the TypeScript kernels, and windows outside the plane", () => {
  const plain = new Float32Array(8);
  const [x] = blocks(8);
  assert.equal(reluSimd(plain, x), false);
  assert.equal(binarySimd("add", x, plain, x), false);
  const before = setCpuKernels("ts");
  try {
    assert.equal(reluSimd(x, x), false);
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
  const [y] = blocks(4);
  assert.equal(maxPoolSimd(x, y, { planes: 1, h: 2, w: 4, oh: 1, ow: 2, kh: 2, kw: 3, sh: 1, sw: 2 }), false);
  release(x);
  release(y);
});

Deno.test("addChannelBias() adds to the chosen planes only, in the kernels' memory and outside it", () => {
  // y [3 images, 5 channels, 7 values]; images 1–2, channels 1–3.
  const block = { image0: 1, images: 2, yChannels: 5, filter0: 1, filters: 3, plane: 7 };
  for (const inMemory of [true, false]) {
    const [y0, bias] = blocks(3 * 5 * 7, 5);
    const y = inMemory ? y0 : y0.slice();
    const want = [...y];
    for (let b = 1; b < 3; b++) {
      for (let c = 1; c < 4; c++) for (let i = 0; i < 7; i++) want[(b * 5 + c) * 7 + i] += bias[c];
    }
    addChannelBias(y, bias, block);
    // Float32 sums, as the kernel rounds them.
    assert.deepEqual([...y], want.map((v) => Math.fround(v)), inMemory ? "in memory" : "plain arrays");
    for (const t of [y0, bias]) release(t);
  }
});
