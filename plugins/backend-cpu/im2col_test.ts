import assert from "node:assert/strict";
import {
  col2im,
  convolve,
  convolveFilterGradient,
  gemmWorkspace,
  im2col,
  type Im2colGeometry,
} from "./im2col.ts";
import { convGradWasm, convRowsWasm, convWasm, type PlaneGeometry } from "./_gemm_wasm.ts";
import { allocate, release } from "./memory.ts";
import { supportsKernel } from "./_gemm_kernel.ts";
import { gemm, setCpuKernels, setCpuThreads } from "./gemm.ts";
import { gemmTs } from "./gemm_ts.ts";

/** Small integers, so that float32 sums are exact whatever the order. */
const ints = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => ((i * 7 + seed) % 13) - 6);

interface Case extends Im2colGeometry {
  readonly total: number;
}

const cases: Case[] = [
  { images: 2, channels: 2, height: 5, width: 6, kernel: [3, 3], padding: [1, 1], total: 2 },
  { images: 3, channels: 2, height: 7, width: 9, kernel: [3, 2], stride: [2, 3], padding: [2, 1], total: 3 },
  {
    images: 2,
    channels: 2,
    height: 8,
    width: 8,
    kernel: [2, 3],
    dilation: [2, 2],
    image0: 1,
    channel0: 1,
    xChannels: 4,
    total: 3,
  },
  // LeNet-5's two layers on 8 images: large enough for two threads.
  { images: 8, channels: 1, height: 28, width: 28, kernel: [5, 5], padding: [2, 2], total: 8 },
  { images: 8, channels: 6, height: 14, width: 14, kernel: [5, 5], total: 8 },
];

/** The column matrix from its definition: cols[(c, p, q), (b, oy, ox)] = x[b0 + b, c0 + c, y, x] or 0. */
function naiveCols(x: Float32Array, g: Case): { cols: Float32Array; oh: number; ow: number } {
  const [kh, kw] = g.kernel, [sh, sw] = g.stride ?? [1, 1], [ph, pw] = g.padding ?? [0, 0];
  const [dh, dw] = g.dilation ?? [1, 1], xc = g.xChannels ?? g.channels;
  const oh = Math.floor((g.height + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((g.width + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const n = g.images * oh * ow, cols = new Float32Array(g.channels * kh * kw * n);
  for (let c = 0; c < g.channels; c++) {
    for (let p = 0; p < kh; p++) {
      for (let q = 0; q < kw; q++) {
        for (let b = 0; b < g.images; b++) {
          for (let oy = 0; oy < oh; oy++) {
            for (let ox = 0; ox < ow; ox++) {
              const y = oy * sh + p * dh - ph, xx = ox * sw + q * dw - pw;
              const inside = y >= 0 && y < g.height && xx >= 0 && xx < g.width;
              const at = ((((g.image0 ?? 0) + b) * xc + (g.channel0 ?? 0) + c) * g.height + y) * g.width + xx;
              cols[((c * kh + p) * kw + q) * n + (b * oh + oy) * ow + ox] = inside ? x[at] : 0;
            }
          }
        }
      }
    }
  }
  return { cols, oh, ow };
}

/** Asserts equal arrays, naming the first difference (faster than deepEqual on long arrays). */
function assertSame(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: [${i}] is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const settingsUnder = [
  { kernels: "ts", threads: 1 },
  { kernels: "wasm", threads: 1 },
  { kernels: "wasm", threads: 2 },
] as const;

for (const { kernels, threads } of settingsUnder) {
  Deno.test(`im2col() and col2im() with "${kernels}" kernels on ${threads} thread(s) match their definitions`, () => {
    const before = setCpuKernels(kernels), beforeThreads = setCpuThreads(threads);
    try {
      for (const g of cases) {
        const xc = g.xChannels ?? g.channels;
        const x = ints(g.total * xc * g.height * g.width, 3);
        const { cols: expected } = naiveCols(x, g);
        for (const inWorkspace of [false, true]) {
          const [cols] = inWorkspace ? gemmWorkspace([expected.length]) : [new Float32Array(expected.length)];
          cols.fill(Number.NaN);
          im2col(x, cols, g);
          assertSame(cols.subarray(0, expected.length), expected, `im2col ${JSON.stringify(g)}`);
          // col2im: every x position of the geometry gets the sum of the cols entries that read it
          // (from the definition, by unfolding the positions' indices), the rest of dx is kept.
          const y = ints(expected.length, 5);
          cols.set(y);
          const dx = new Float32Array(x.length).fill(7);
          col2im(cols, dx, g);
          const want = new Float32Array(x.length).fill(7);
          for (let b = 0; b < g.images; b++) {
            for (let c = 0; c < g.channels; c++) {
              const at = (((g.image0 ?? 0) + b) * xc + (g.channel0 ?? 0) + c) * g.height * g.width;
              want.fill(0, at, at + g.height * g.width);
            }
          }
          // Scatter from the definition: index every x position, unfold the indices, add y there.
          const index = Float32Array.from({ length: x.length }, (_, i) => i + 1);
          const { cols: where } = naiveCols(index, g);
          for (let e = 0; e < where.length; e++) if (where[e] > 0) want[where[e] - 1] += y[e];
          assertSame(dx, want, `col2im ${JSON.stringify(g)}`);
        }
      }
    } finally {
      setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
      setCpuThreads(beforeThreads);
    }
  });
}

Deno.test("gemm() reads and writes workspace arrays in place, in both GEMM modes", () => {
  const beforeThreads = setCpuThreads(2);
  try {
    // Threaded (≥ 2²⁰ multiply-adds) with B read in place, B packed, and dot products (A·Bᵀ, long
    // depth); one small product on the calling thread.
    const shapes = [[6, 8192, 25], [16, 640, 150], [64, 256, 96], [16, 150, 640], [150, 640, 16], [
      7,
      20,
      33,
    ]];
    for (const [m, n, k] of shapes) {
      for (const [transposeA, transposeB] of [[false, false], [false, true], [true, false]]) {
        for (const accumulate of [false, true]) {
          const a = ints(m * k, 1), b = ints(k * n, 2), c0 = ints(m * n, 4);
          const want = c0.slice();
          gemmTs(m, n, k, a, b, want, { transposeA, transposeB, accumulate });
          const [wa, wb, wc] = gemmWorkspace([m * k, k * n, m * n]);
          wa.set(a);
          wb.set(b);
          wc.set(c0);
          gemm(m, n, k, wa, wb, wc, { transposeA, transposeB, accumulate });
          const what = `${m}×${n}×${k} ${transposeA} ${transposeB} ${accumulate}`;
          assertSame(wc, want, what);
          assertSame(wa, a, what);
          assertSame(wb, b, what);
        }
      }
    }
  } finally {
    setCpuThreads(beforeThreads);
  }
});

Deno.test("im2col() rejects a short array or a bad geometry with RangeError", () => {
  const g = { images: 1, channels: 1, height: 3, width: 3, kernel: [2, 2] } as const;
  assert.throws(() => im2col(new Float32Array(8), new Float32Array(16), g), RangeError);
  assert.throws(() => im2col(new Float32Array(9), new Float32Array(15), g), RangeError);
  assert.throws(
    () => col2im(new Float32Array(16), new Float32Array(9), { ...g, kernel: [4, 4] }),
    RangeError,
  );
  assert.throws(() => gemmWorkspace([-1]), RangeError);
});

interface ConvCase extends Im2colGeometry {
  readonly total: number;
  readonly filters: number;
  readonly filter0?: number;
  readonly yChannels?: number;
}

/** A convolution from its definition, into a tensor of `total` images filled with -99 elsewhere. */
function naiveConv(x: Float32Array, w: Float32Array, c: ConvCase): Float32Array {
  const [kh, kw] = c.kernel, [sh, sw] = c.stride ?? [1, 1], [ph, pw] = c.padding ?? [0, 0];
  const [dh, dw] = c.dilation ?? [1, 1], xc = c.xChannels ?? c.channels, yc = c.yChannels ?? c.filters;
  const oh = Math.floor((c.height + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((c.width + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
  const f0 = c.filter0 ?? 0, b0 = c.image0 ?? 0, c0 = c.channel0 ?? 0;
  const y = new Float32Array(c.total * yc * oh * ow).fill(-99);
  for (let b = 0; b < c.images; b++) {
    for (let f = 0; f < c.filters; f++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let s = 0;
          for (let ch = 0; ch < c.channels; ch++) {
            for (let p = 0; p < kh; p++) {
              for (let q = 0; q < kw; q++) {
                const iy = oy * sh + p * dh - ph, ix = ox * sw + q * dw - pw;
                if (iy < 0 || iy >= c.height || ix < 0 || ix >= c.width) continue;
                s += w[(((f0 + f) * c.channels + ch) * kh + p) * kw + q] *
                  x[(((b0 + b) * xc + c0 + ch) * c.height + iy) * c.width + ix];
              }
            }
          }
          y[(((b0 + b) * yc + f0 + f) * oh + oy) * ow + ox] = s;
        }
      }
    }
  }
  return y;
}

/** The kernel's geometry of a case, as `im2col.ts` resolves it. */
function planeGeometry(c: ConvCase): PlaneGeometry {
  const [kh, kw] = c.kernel, [sh, sw] = c.stride ?? [1, 1], [ph, pw] = c.padding ?? [0, 0];
  const [dh, dw] = c.dilation ?? [1, 1];
  return {
    images: c.images,
    channels: c.channels,
    image0: c.image0 ?? 0,
    channel0: c.channel0 ?? 0,
    xChannels: c.xChannels ?? c.channels,
    height: c.height,
    width: c.width,
    kh,
    kw,
    oh: Math.floor((c.height + 2 * ph - dh * (kh - 1) - 1) / sh) + 1,
    ow: Math.floor((c.width + 2 * pw - dw * (kw - 1) - 1) / sw) + 1,
    sh,
    sw,
    ph,
    pw,
    dh,
    dw,
  };
}

/** Cases where `convolve` runs (≥ 64 taps, filters filling 3/4 of the vector lanes). */
const convolveCases: ConvCase[] = [
  { images: 2, channels: 4, height: 5, width: 6, kernel: [4, 4], padding: [1, 2], filters: 8, total: 2 },
  {
    images: 3,
    channels: 3,
    height: 9,
    width: 11,
    kernel: [5, 5],
    stride: [2, 3],
    padding: [2, 1],
    filters: 16,
    total: 3,
  },
  {
    images: 2,
    channels: 4,
    height: 9,
    width: 9,
    kernel: [4, 4],
    dilation: [2, 1],
    image0: 1,
    channel0: 4,
    xChannels: 8,
    filters: 6,
    filter0: 6,
    yChannels: 12,
    total: 3,
  },
  // LeNet-5's conv2 on 8 images: two threads.
  { images: 8, channels: 6, height: 14, width: 14, kernel: [5, 5], filters: 16, total: 8 },
];

/** Cases the kernel handles although `convolve` leaves them to im2col and gemm. */
const kernelOnlyCases: ConvCase[] = [
  { images: 8, channels: 1, height: 28, width: 28, kernel: [5, 5], padding: [2, 2], filters: 6, total: 8 },
  {
    images: 1,
    channels: 3,
    height: 37,
    width: 37,
    kernel: [11, 11],
    stride: [4, 4],
    padding: [2, 2],
    filters: 17,
    total: 1,
  },
  {
    images: 3,
    channels: 2,
    height: 7,
    width: 9,
    kernel: [3, 2],
    stride: [2, 3],
    padding: [2, 1],
    filters: 9,
    total: 3,
  },
];

for (const threads of [1, 2]) {
  Deno.test(`convolve() and its kernel on ${threads} thread(s) match the definition, in both SIMD flavours`, () => {
    const beforeThreads = setCpuThreads(threads);
    try {
      for (const relaxed of [false, true].filter((r) => supportsKernel(r))) {
        for (const c of [...convolveCases, ...kernelOnlyCases]) {
          const k = c.channels * c.kernel[0] * c.kernel[1];
          const x = ints(c.total * (c.xChannels ?? c.channels) * c.height * c.width, 3);
          const w = ints(((c.filter0 ?? 0) + c.filters) * k, 5);
          const want = naiveConv(x, w, c);
          const y = new Float32Array(want.length).fill(-99);
          const what = `${JSON.stringify(c)}, relaxed ${relaxed}`;
          if (convolveCases.includes(c)) {
            const before = setCpuKernels("wasm", { relaxedSimd: relaxed });
            try {
              assert.ok(convolve(x, w, { ...c, y }), what);
            } finally {
              setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
            }
          } else {
            const target = {
              filters: c.filters,
              filter0: c.filter0 ?? 0,
              yChannels: c.yChannels ?? c.filters,
            };
            assert.ok(convWasm(relaxed, threads, x, w, y, planeGeometry(c), target), what);
          }
          assertSame(y, want, what);
        }
      }
    } finally {
      setCpuThreads(beforeThreads);
    }
  });
}

/** Cases of the row convolution (stride 1): padding or none, groups, dilation, ragged rows. */
const rowsCases: ConvCase[] = [
  // LeNet-5's conv1 and conv2 (rows of 28 and 10 columns).
  { images: 8, channels: 1, height: 28, width: 28, kernel: [5, 5], padding: [2, 2], filters: 6, total: 8 },
  { images: 3, channels: 6, height: 14, width: 14, kernel: [5, 5], filters: 16, total: 3 },
  // A channel range and a filter range of a grouped convolution, with dilation and ragged rows.
  {
    images: 2,
    channels: 3,
    height: 11,
    width: 13,
    kernel: [3, 2],
    dilation: [2, 3],
    padding: [1, 2],
    image0: 1,
    channel0: 3,
    xChannels: 6,
    filters: 5,
    filter0: 5,
    yChannels: 10,
    total: 3,
  },
  { images: 1, channels: 2, height: 4, width: 9, kernel: [1, 1], filters: 7, total: 1 },
];

Deno.test("the row convolution matches the definition: staged or in place, with bias and ReLU, in both SIMD flavours", () => {
  for (const relaxed of [false, true].filter((r) => supportsKernel(r))) {
    for (const threads of [1, 2]) {
      for (const c of rowsCases) {
        for (const inPlace of [false, true]) {
          const k = c.channels * c.kernel[0] * c.kernel[1];
          const x = ints(c.total * (c.xChannels ?? c.channels) * c.height * c.width, 3);
          const w = ints(((c.filter0 ?? 0) + c.filters) * k, 5);
          const bias = Float32Array.from(
            { length: (c.filter0 ?? 0) + c.filters },
            (_, i) => 40 * (i % 3) - 30,
          );
          const plain = naiveConv(x, w, c);
          const what = `${JSON.stringify(c)}, relaxed ${relaxed}, ${threads} thread(s), in place ${inPlace}`;
          const g = planeGeometry(c), f0 = c.filter0 ?? 0, yc = c.yChannels ?? c.filters, plane = g.oh * g.ow;
          for (const fused of [false, true]) {
            const want = plain.map((v, i) => {
              const image = Math.floor(i / (yc * plane)), channel = Math.floor(i / plane) % yc;
              const written = image >= g.image0 && image < g.image0 + c.images && channel >= f0 &&
                channel < f0 + c.filters;
              if (!fused || !written) return v;
              const s = v + bias[channel];
              return s > 0 ? s : 0;
            });
            const arrays = [x, w, bias, new Float32Array(want.length).fill(-99)].map((a) => {
              if (!inPlace) return a;
              const view = allocate(a.length);
              view.set(a);
              return view;
            });
            const [xs, ws, bs, y] = arrays;
            const target = {
              filters: c.filters,
              filter0: f0,
              yChannels: yc,
              ...(fused ? { bias: bs, relu: true } : {}),
            };
            assert.ok(convRowsWasm(relaxed, threads, xs, ws, y, g, target), what);
            assertSame(y, want, `${what}, fused ${fused}`);
            if (inPlace) arrays.forEach(release);
          }
        }
      }
    }
  }
});

Deno.test("convolve() takes the row convolution for few filters at stride 1, and leaves strides to other paths", () => {
  const c = rowsCases[0];
  const x = ints(8 * 28 * 28, 1), w = ints(6 * 25, 2), y = new Float32Array(8 * 6 * 28 * 28);
  assert.ok(convolve(x, w, { ...c, y }));
  assertSame(y, naiveConv(x, w, c), "LeNet-5 conv1");
  const strided = { ...c, stride: [2, 2] as const };
  assert.equal(
    convRowsWasm(true, 1, x, w, y, planeGeometry(strided), { filters: 6, filter0: 0, yChannels: 6 }),
    false,
  );
});

Deno.test("convolve() leaves the TypeScript kernels and unsuited shapes to im2col and gemm", () => {
  const c = convolveCases[0], y = new Float32Array(2 * 8 * 4 * 7); // oh 4, ow 7
  const x = ints(2 * 4 * 5 * 6, 1), w = ints(8 * 64, 2);
  const before = setCpuKernels("ts");
  try {
    assert.equal(convolve(x, w, { ...c, y }), false);
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
  assert.equal(convolve(x, w, { ...c, y, kernel: [2, 2], padding: [0, 0] }), false); // 16 taps
  assert.throws(() => convolve(x, w, { ...c, y, filters: 9 }), RangeError); // w too short
  assert.throws(() => convolve(x, w, { ...c, y: new Float32Array(3) }), RangeError);
});

/** A filter gradient from its definition, added to `dw`. */
function naiveFilterGradient(x: Float32Array, dy: Float32Array, dw: Float32Array, c: ConvCase): void {
  const g = planeGeometry(c),
    yc = c.yChannels ?? c.filters,
    f0 = c.filter0 ?? 0,
    k = c.channels * g.kh * g.kw;
  for (let f = 0; f < c.filters; f++) {
    for (let ch = 0; ch < c.channels; ch++) {
      for (let p = 0; p < g.kh; p++) {
        for (let q = 0; q < g.kw; q++) {
          let s = 0;
          for (let b = 0; b < c.images; b++) {
            for (let oy = 0; oy < g.oh; oy++) {
              for (let ox = 0; ox < g.ow; ox++) {
                const iy = oy * g.sh + p * g.dh - g.ph, ix = ox * g.sw + q * g.dw - g.pw;
                if (iy < 0 || iy >= c.height || ix < 0 || ix >= c.width) continue;
                s += dy[(((g.image0 + b) * yc + f0 + f) * g.oh + oy) * g.ow + ox] *
                  x[(((g.image0 + b) * g.xChannels + g.channel0 + ch) * c.height + iy) * c.width + ix];
              }
            }
          }
          dw[(f0 + f) * k + (ch * g.kh + p) * g.kw + q] += s;
        }
      }
    }
  }
}

/** Cases where `convolveFilterGradient` runs (stride 1 along rows of a multiple of 4 columns). */
const gradientCases: ConvCase[] = [
  { images: 2, channels: 2, height: 6, width: 8, kernel: [3, 3], padding: [1, 1], filters: 3, total: 2 },
  {
    images: 2,
    channels: 2,
    height: 9,
    width: 10,
    kernel: [2, 3],
    stride: [2, 1],
    dilation: [2, 1],
    image0: 1,
    channel0: 1,
    xChannels: 4,
    filters: 5,
    filter0: 3,
    yChannels: 10,
    total: 3,
  },
  // LeNet-5's conv1 on 8 images: two threads.
  { images: 8, channels: 1, height: 28, width: 28, kernel: [5, 5], padding: [2, 2], filters: 6, total: 8 },
];

/** Cases the gradient kernel handles although `convolveFilterGradient` leaves them to im2col and gemm. */
const gradientKernelOnlyCases: ConvCase[] = [
  {
    images: 3,
    channels: 2,
    height: 7,
    width: 9,
    kernel: [3, 2],
    stride: [2, 1],
    padding: [2, 1],
    filters: 9,
    total: 3,
  },
  { images: 8, channels: 6, height: 14, width: 14, kernel: [5, 5], filters: 16, total: 8 },
];

for (const threads of [1, 2]) {
  Deno.test(`convolveFilterGradient() and its kernel on ${threads} thread(s) match the definition`, () => {
    const beforeThreads = setCpuThreads(threads);
    try {
      for (const relaxed of [false, true].filter((r) => supportsKernel(r))) {
        for (const c of [...gradientCases, ...gradientKernelOnlyCases]) {
          const g = planeGeometry(c), k = c.channels * g.kh * g.kw, yc = c.yChannels ?? c.filters;
          const x = ints(c.total * g.xChannels * c.height * c.width, 3);
          const dy = ints(c.total * yc * g.oh * g.ow, 5);
          const want = ints(((c.filter0 ?? 0) + c.filters) * k, 9), dw = want.slice();
          naiveFilterGradient(x, dy, want, c);
          const what = `${JSON.stringify(c)}, relaxed ${relaxed}`;
          if (gradientCases.includes(c)) {
            const before = setCpuKernels("wasm", { relaxedSimd: relaxed });
            try {
              assert.ok(convolveFilterGradient(x, { ...c, dy, dw, dyChannels: yc }), what);
            } finally {
              setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
            }
          } else {
            const target = { filters: c.filters, filter0: c.filter0 ?? 0, dyChannels: yc };
            assert.ok(convGradWasm(relaxed, threads, x, dy, dw, g, target), what);
          }
          assertSame(dw, want, what);
        }
      }
    } finally {
      setCpuThreads(beforeThreads);
    }
  });
}

Deno.test("convolveFilterGradient() leaves the TypeScript kernels and unsuited shapes to im2col and gemm", () => {
  const c = gradientCases[0],
    dy = ints(2 * 3 * 6 * 8, 1),
    dw = new Float32Array(3 * 18),
    x = ints(2 * 2 * 6 * 8, 2);
  const before = setCpuKernels("ts");
  try {
    assert.equal(convolveFilterGradient(x, { ...c, dy, dw }), false);
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
  assert.equal(convolveFilterGradient(x, { ...c, dy, dw, stride: [1, 2] }), false); // column stride 2
  assert.equal(convolveFilterGradient(x, { ...c, dy, dw, padding: [1, 0] }), false); // 6 columns
  assert.deepEqual([...dw], new Array(54).fill(0));
  assert.throws(() => convolveFilterGradient(x, { ...c, dy, dw: new Float32Array(3) }), RangeError);
});
