import assert from "node:assert/strict";
import { Rng } from "@cnnlab/core";
import { convolveWinograd } from "./winograd.ts";
import { allocate, release } from "./memory.ts";
import type { ConvolveOptions } from "./im2col.ts";

type Case = Omit<ConvolveOptions, "y" | "kernel"> & { readonly total: number };

/** The convolution from its definition, in float64, into a copy of `y0`. */
function naive(x: Float32Array, w: Float32Array, c: Case, y0: Float32Array): Float64Array {
  const [ph, pw] = c.padding ?? [0, 0], xc = c.xChannels ?? c.channels, yc = c.yChannels ?? c.filters;
  const oh = c.height + 2 * ph - 2, ow = c.width + 2 * pw - 2, f0 = c.filter0 ?? 0, c0 = c.channel0 ?? 0;
  const y = Float64Array.from(y0);
  for (let b = c.image0 ?? 0; b < (c.image0 ?? 0) + c.images; b++) {
    for (let f = 0; f < c.filters; f++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let s = 0;
          for (let ch = 0; ch < c.channels; ch++) {
            for (let p = 0; p < 3; p++) {
              for (let q = 0; q < 3; q++) {
                const iy = oy + p - ph, ix = ox + q - pw;
                if (iy < 0 || iy >= c.height || ix < 0 || ix >= c.width) continue;
                s += w[((f0 + f) * c.channels + ch) * 9 + p * 3 + q] *
                  x[((b * xc + c0 + ch) * c.height + iy) * c.width + ix];
              }
            }
          }
          y[((b * yc + f0 + f) * oh + oy) * ow + ox] = s;
        }
      }
    }
  }
  return y;
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
];

Deno.test("convolveWinograd() matches the definition, leaving other images and channels of y alone", () => {
  const rng = new Rng(3);
  for (const c of CASES) {
    const [ph, pw] = c.padding ?? [0, 0];
    const oh = c.height + 2 * ph - 2, ow = c.width + 2 * pw - 2;
    const x = allocate(c.total * (c.xChannels ?? c.channels) * c.height * c.width);
    const w = allocate(((c.filter0 ?? 0) + c.filters) * c.channels * 9);
    const y = allocate(c.total * (c.yChannels ?? c.filters) * oh * ow);
    for (const t of [x, w]) for (let i = 0; i < t.length; i++) t[i] = rng.next() - 0.5;
    y.fill(-7);
    const want = naive(x, w, c, y);
    assert.ok(convolveWinograd(x, w, { ...c, kernel: [3, 3], y }), JSON.stringify(c));
    for (let i = 0; i < y.length; i++) {
      assert.ok(
        Math.abs(y[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])),
        `${JSON.stringify(c)}: y[${i}] = ${y[i]}, want ${want[i]}`,
      );
    }
    for (const t of [x, w, y]) release(t);
  }
});

Deno.test("convolveWinograd() declines what it does not pay for or cannot do", () => {
  const x = allocate(256 * 8 * 8), w = allocate(256 * 256 * 25), y = allocate(256 * 8 * 8);
  const base = { images: 1, channels: 256, height: 8, width: 8, padding: [1, 1] as const, filters: 256, y };
  assert.ok(convolveWinograd(x, w, { ...base, kernel: [3, 3] }));
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [5, 5], padding: [2, 2] }), false);
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [3, 3], stride: [2, 2] }), false);
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [3, 3], dilation: [2, 2] }), false);
  assert.equal(convolveWinograd(x, w, { ...base, kernel: [3, 3], filters: 128 }), false);
  assert.equal(convolveWinograd(x.slice(), w, { ...base, kernel: [3, 3] }), false, "x is a plain array");
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
    for (let i = 0; i < y.length; i++) {
      assert.ok(Math.abs(y[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])), `call ${call}`);
    }
  }
  // Other weights in the same storage size get their own transform.
  const w2 = allocate(256 * 256 * 9);
  for (let i = 0; i < w2.length; i++) w2[i] = rng.next() - 0.5;
  assert.ok(convolveWinograd(x, w2, { ...c, kernel: [3, 3], y }));
  const want2 = naive(x, w2, c, y);
  for (let i = 0; i < y.length; i++) assert.ok(Math.abs(y[i] - want2[i]) <= 1e-4 * (1 + Math.abs(want2[i])));
  for (const t of [x, w, w2, y]) release(t);
});
