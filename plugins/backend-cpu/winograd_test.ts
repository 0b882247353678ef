import assert from "node:assert/strict";
import { Rng } from "@cnnlab/core";
import { convolveWinograd } from "./winograd.ts";
import { cpuGemmSettings, setCpuKernels } from "./gemm.ts";
import { allocate, release } from "./memory.ts";
import type { ConvolveOptions } from "./im2col.ts";

type Case = Omit<ConvolveOptions, "y" | "kernel"> & { readonly total: number; readonly r?: number };

/**
 * The convolution from its definition, in float64, into a copy of `y0`, and for each output the
 * sum of its terms' magnitudes (Σ|w·x|, the scale its rounding error is measured against; 0 where
 * `y0` is kept).
 */
function naive(
  x: Float32Array,
  w: Float32Array,
  c: Case,
  y0: Float32Array,
): { y: Float64Array; scale: Float64Array } {
  const [ph, pw] = c.padding ?? [0, 0], xc = c.xChannels ?? c.channels, yc = c.yChannels ?? c.filters;
  const r = c.r ?? 3,
    oh = c.height + 2 * ph - r + 1,
    ow = c.width + 2 * pw - r + 1,
    f0 = c.filter0 ?? 0,
    c0 = c.channel0 ?? 0;
  const y = Float64Array.from(y0), scale = new Float64Array(y0.length);
  for (let b = c.image0 ?? 0; b < (c.image0 ?? 0) + c.images; b++) {
    for (let f = 0; f < c.filters; f++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let s = 0, a = 0;
          for (let ch = 0; ch < c.channels; ch++) {
            for (let p = 0; p < r; p++) {
              for (let q = 0; q < r; q++) {
                const iy = oy + p - ph, ix = ox + q - pw;
                if (iy < 0 || iy >= c.height || ix < 0 || ix >= c.width) continue;
                const term = w[(((f0 + f) * c.channels + ch) * r + p) * r + q] *
                  x[((b * xc + c0 + ch) * c.height + iy) * c.width + ix];
                s += term;
                a += Math.abs(term);
              }
            }
          }
          const at = ((b * yc + f0 + f) * oh + oy) * ow + ox;
          y[at] = s;
          scale[at] = a;
        }
      }
    }
  }
  return { y, scale };
}

/**
 * Asserts y within Winograd's rounding error of the definition: 4·10⁻⁶ of the sum of the terms'
 * magnitudes (at 256 channels the worst output measured 5·10⁻⁸ for F(2×2, 3×3), 7·10⁻⁷ for
 * F(4×4, 3×3) and 1.0·10⁻⁶ for F(4×4, 5×5); one term wrong misses by about 1/(channels·r²) of that
 * sum, over 10⁻⁴), and outputs outside the convolution exactly as they were.
 */
function assertClose(y: Float32Array, want: { y: Float64Array; scale: Float64Array }, what: string): void {
  for (let i = 0; i < y.length; i++) {
    const tolerance = 4e-6 * want.scale[i];
    assert.ok(Math.abs(y[i] - want.y[i]) <= tolerance, `${what}: y[${i}] = ${y[i]}, want ${want.y[i]}`);
  }
}

const CASES: Case[] = [
  // Odd output (7×7), padding 1.
  { images: 1, channels: 256, height: 7, width: 7, padding: [1, 1], filters: 264, total: 1 },
  // Even output, no padding, a non-square plane, two images.
  { images: 2, channels: 260, height: 10, width: 7, filters: 256, total: 2 },
  // The second group of a grouped convolution: a channel range and a filter range, one image of three.
  {
    images: 1,
    image0: 1,
    channels: 256,
    channel0: 256,
    xChannels: 512,
    height: 6,
    width: 9,
    padding: [1, 2],
    filters: 257,
    filter0: 257,
    yChannels: 514,
    total: 3,
  },
  // 5×5: AlexNet's conv2 at a smaller size (27×27 output, odd, padding 2), and one without padding.
  { images: 1, channels: 64, height: 27, width: 27, padding: [2, 2], filters: 70, total: 1, r: 5 },
  { images: 2, channels: 65, height: 9, width: 12, filters: 64, total: 2, r: 5 },
];

Deno.test("convolveWinograd() matches the definition, leaving other images and channels of y alone", () => {
  const rng = new Rng(3);
  for (const c of CASES) {
    const [ph, pw] = c.padding ?? [0, 0], r = c.r ?? 3;
    const oh = c.height + 2 * ph - r + 1, ow = c.width + 2 * pw - r + 1;
    const x = allocate(c.total * (c.xChannels ?? c.channels) * c.height * c.width);
    const w = allocate(((c.filter0 ?? 0) + c.filters) * c.channels * r * r);
    const y = allocate(c.total * (c.yChannels ?? c.filters) * oh * ow);
    for (const t of [x, w]) for (let i = 0; i < t.length; i++) t[i] = rng.next() - 0.5;
    y.fill(-7);
    const want = naive(x, w, c, y);
    for (const m of [undefined, 2, 3, 4]) {
      y.fill(-7);
      assert.ok(convolveWinograd(x, w, { ...c, kernel: [r, r], y }, m), JSON.stringify(c));
      assertClose(y, want, `${JSON.stringify(c)}, ${m ?? "default"} outputs per tile side`);
    }
    for (const t of [x, w, y]) release(t);
  }
});

Deno.test("convolveWinograd() declines what it does not pay for or cannot do", () => {
  const x = allocate(5 * 256 * 8 * 8), w = allocate(256 * 256 * 25), y = allocate(5 * 256 * 8 * 8);
  const base = { images: 1, channels: 256, height: 8, width: 8, padding: [1, 1] as const, filters: 256, y };
  assert.ok(convolveWinograd(x, w, { ...base, kernel: [3, 3] }));
  assert.ok(convolveWinograd(x, w, { ...base, kernel: [5, 5], padding: [2, 2] }));
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [7, 7], padding: [3, 3] }), false);
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [3, 5], padding: [1, 2] }), false);
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [5, 5], padding: [2, 2], channels: 31 }), false);
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [3, 3], stride: [2, 2] }), false);
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [3, 3], dilation: [2, 2] }), false);
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [3, 3], filters: 63 }), false);
  assert.ok(convolveWinograd(x, w, { ...base, kernel: [3, 3], images: 4 }));
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [3, 3], images: 5 }), false, "more than 4 images");
  assert.equal(convolveWinograd(x.slice(), w, { ...base, kernel: [3, 3] }), false, "x is a plain array");
  assert.throws(
    () => convolveWinograd(x, w, { ...base, kernel: [3, 3] }, 5),
    /there are transforms for 2, 3, 4 outputs/,
  );
  for (const t of [x, w, y]) release(t);
});

Deno.test("convolveWinograd() keeps the transformed filters of a weight seen twice, and they stay right", () => {
  const rng = new Rng(5);
  const c: Case = { images: 1, channels: 256, height: 5, width: 5, padding: [1, 1], filters: 256, total: 1 };
  const x = allocate(256 * 25), w = allocate(256 * 256 * 9), y = allocate(256 * 25);
  for (const t of [x, w]) for (let i = 0; i < t.length; i++) t[i] = rng.next() - 0.5;
  const want = naive(x, w, c, y);
  for (let call = 0; call < 3; call++) {
    y.fill(0);
    assert.ok(convolveWinograd(x, w, { ...c, kernel: [3, 3], y }));
    assertClose(y, want, `call ${call}`);
  }
  // Other weights in the same storage size get their own transform.
  const w2 = allocate(256 * 256 * 9);
  for (let i = 0; i < w2.length; i++) w2[i] = rng.next() - 0.5;
  assert.ok(convolveWinograd(x, w2, { ...c, kernel: [3, 3], y }));
  const want2 = naive(x, w2, c, y);
  assertClose(y, want2, "second weight");
  // Kept filters are packed for the relaxed or the plain kernels: switching flavour must not reuse
  // them. Each flavour has its memory, so x and y move there (w, the cache's key, stays).
  const before = setCpuKernels("wasm", { relaxedSimd: !cpuGemmSettings().relaxedSimd });
  try {
    const xOther = allocate(x.length), yOther = allocate(y.length);
    xOther.set(x);
    for (let call = 0; call < 3; call++) {
      yOther.fill(0);
      assert.ok(convolveWinograd(xOther, w, { ...c, kernel: [3, 3], y: yOther }));
      assertClose(yOther, want, `other flavour, call ${call}`);
    }
    for (const t of [xOther, yOther]) release(t);
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
  y.fill(0);
  assert.ok(convolveWinograd(x, w, { ...c, kernel: [3, 3], y }));
  assertClose(y, want, "flavour switched back");
  for (const t of [x, w, w2, y]) release(t);
});
