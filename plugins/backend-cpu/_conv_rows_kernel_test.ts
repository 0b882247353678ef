import assert from "node:assert/strict";
import { Rng } from "@cnnlab/core";
import {
  CONV_ROWS_SHAPE,
  convRowsFunction,
  type ConvRowsOptions,
  convRowsWeightsLength,
  packConvRowsWeights,
} from "./_conv_rows_kernel.ts";
import { supportsKernel } from "./_gemm_kernel.ts";
import { encodeModule } from "./_wasm_emitter.ts";

type ConvRows = (...args: number[]) => void;

const flavours = [false, true].filter((relaxed) => supportsKernel(relaxed));
/** What the kernel never writes: y's gaps and surroundings must keep it. */
const GUARD = 12345;
/** Floats at address 0: a kernel that reads a bias from address 0 (`bias` = 0) gets these. */
const HEADER = 1000;

/** A module with `convRows` of one flavour and block shape, and its memory. */
function instantiate(options: ConvRowsOptions) {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 4 });
  const bytes = encodeModule({
    memory: { initial: 4, maximum: 4, shared: false },
    functions: [convRowsFunction(options)],
  });
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
    env: { memory },
  });
  return {
    f32: new Float32Array(memory.buffer),
    convRows: exports.convRows as ConvRows,
    perBlock: options.filters ?? CONV_ROWS_SHAPE.filters,
  };
}

/** A seeded generator of floats in [-1, 1). */
function random(seed: number): () => number {
  const rng = new Rng(seed);
  return () => 2 * rng.next() - 1;
}

/** One call's sizes; strides in floats. */
interface Case {
  channels: number;
  kh: number;
  kw: number;
  dh: number;
  dw: number;
  filters: number;
  /** Output columns (any width: the last vector of a row may be partial). */
  ow: number;
  oy0: number;
  oy1: number;
  bias: boolean;
  relu: boolean;
  /** Floats between image rows; default: the width ow rounded up to whole vectors, less seed mod 4, plus the kernel's reach. */
  ldImg?: number;
  /** Floats between y rows; default ow, plus a gap for odd seeds. */
  ldY?: number;
}

/**
 * Places a random image, filters and biases at unaligned addresses and y (written cells NaN,
 * everything else {@link GUARD}), runs `convRows`, and compares y with a float64 reference; the
 * tolerance is relative to Σ|terms| so that cancellation cannot fail a correct kernel. Checks that
 * relu gives exactly 0 for negatives and that nothing outside the written cells changed.
 */
function check(kernel: ReturnType<typeof instantiate>, c: Case, seed: number) {
  const { f32, convRows } = kernel;
  const next = random(seed);
  const { channels, kh, kw, dh, dw, filters, ow, oy0, oy1 } = c;
  const ow4 = Math.ceil(ow / 4) * 4;
  const reachW = (kw - 1) * dw, reachH = (kh - 1) * dh;
  const ldImg = c.ldImg ?? Math.max(1, ow4 - (seed % 4)) + reachW + (seed % 2 === 0 ? 0 : 3);
  const rowsIn = Math.max(oy0, oy1) + reachH;
  const imgPlane = rowsIn * ldImg + (seed % 3) * 5;
  const ldY = c.ldY ?? ow + (seed % 2 === 0 ? 0 : 1 + (seed % 5));
  const yPlane = Math.max(oy0, oy1) * ldY + (seed % 3) * 3;
  const imgLen = (channels - 1) * imgPlane + (rowsIn - 1) * ldImg + ow4 + reachW;
  const taps = channels * kh * kw;
  const w = Float32Array.from({ length: filters * taps }, next);
  const wLen = convRowsWeightsLength(filters, taps, kernel.perBlock);
  const yLen = filters * yPlane;
  const imgBase = 17 + (seed % 3);
  const wBase = imgBase + imgLen + 3;
  const bBase = wBase + wLen + 1;
  const yBase = bBase + filters + 13;
  const guard = 8;
  assert.ok(yBase + yLen + guard <= f32.length, "test case too large for the memory");
  f32.fill(Number.NaN, 0, yBase); // gaps: never read
  f32.fill(HEADER, 0, 16);
  for (let i = 0; i < imgLen; i++) f32[imgBase + i] = next();
  packConvRowsWeights(w, 0, filters, taps, f32, wBase, kernel.perBlock);
  for (let i = 0; i < filters; i++) f32[bBase + i] = 2 * next();
  f32.fill(GUARD, yBase - guard, yBase + yLen + guard);
  const at = (f: number, oy: number, ox: number) => yBase + f * yPlane + oy * ldY + ox;
  for (let f = 0; f < filters; f++) {
    for (let oy = oy0; oy < oy1; oy++) for (let ox = 0; ox < ow; ox++) f32[at(f, oy, ox)] = Number.NaN;
  }
  const before = f32.slice(yBase - guard, yBase + yLen + guard);
  convRows(
    imgBase * 4,
    wBase * 4,
    c.bias ? bBase * 4 : 0,
    yBase * 4,
    channels,
    kh,
    kw,
    dh,
    dw,
    ldImg * 4,
    imgPlane * 4,
    oy0,
    oy1,
    ow,
    filters,
    ldY * 4,
    yPlane * 4,
    c.relu ? 1 : 0,
  );
  const where = JSON.stringify({ ...c, ldImg, imgPlane, ldY, yPlane, seed });
  for (let f = 0; f < filters; f++) {
    for (let oy = oy0; oy < oy1; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let sum = c.bias ? f32[bBase + f] : 0, abs = Math.abs(sum);
        for (let ch = 0; ch < channels; ch++) {
          for (let p = 0; p < kh; p++) {
            for (let q = 0; q < kw; q++) {
              const term = w[((f * channels + ch) * kh + p) * kw + q] *
                f32[imgBase + ch * imgPlane + (oy + p * dh) * ldImg + ox + q * dw];
              sum += term;
              abs += Math.abs(term);
            }
          }
        }
        const got = f32[at(f, oy, ox)], tolerance = 1e-4 * abs;
        const cell = `y[${f}, ${oy}, ${ox}] = ${got}, expected`;
        if (c.relu && sum < -tolerance) assert.equal(got, 0, `${cell} 0 from ${sum} (${where})`);
        else {
          const want = c.relu ? Math.max(sum, 0) : sum;
          assert.ok(Math.abs(got - want) <= tolerance, `${cell} ${want} (${where})`);
        }
        before[at(f, oy, ox) - yBase + guard] = got;
      }
    }
  }
  const after = f32.subarray(yBase - guard, yBase + yLen + guard);
  for (let i = 0; i < after.length; i++) {
    if (!Object.is(after[i], before[i])) assert.fail(`wrote y[${i - guard}] outside the output (${where})`);
  }
}

/** Every kernel size and dilation with cycling filters, widths, rows, bias and relu. */
function sweepKernels(kernel: ReturnType<typeof instantiate>, seed: number) {
  const filterCounts = [1, 2, 3, 6, 7], widths = [4, 8, 12, 16, 20, 28, 5, 10, 27];
  const sizes = [[1, 1], [3, 3], [5, 5], [3, 5], [5, 1], [1, 3], [5, 3]];
  let i = 0;
  for (const channels of [1, 3, 6]) {
    for (const [kh, kw] of sizes) {
      for (const [dh, dw] of [[1, 1], [2, 1], [1, 2], [2, 2]]) {
        const oy0 = i % 3, rows = 1 + (i % 4);
        check(kernel, {
          channels,
          kh,
          kw,
          dh,
          dw,
          filters: filterCounts[i % filterCounts.length],
          ow: widths[i % widths.length],
          oy0,
          oy1: oy0 + rows,
          bias: i % 2 === 0,
          relu: i % 3 !== 0,
        }, seed + i);
        i++;
      }
    }
  }
}

/** Every filter count and width (so every block and tail), with and without bias and relu. */
function sweepBlocks(kernel: ReturnType<typeof instantiate>, seed: number, widths: readonly number[]) {
  let i = 0;
  for (const filters of [1, 2, 3, 4, 5, 6, 7]) {
    for (const ow of widths) {
      for (const bias of [false, true]) {
        for (const relu of [false, true]) {
          const [kh, kw] = [[3, 3], [3, 2], [2, 5]][i % 3];
          check(kernel, {
            channels: 1 + (i % 3),
            kh,
            kw,
            dh: 1,
            dw: 1,
            filters,
            ow,
            oy0: 1,
            oy1: 3,
            bias,
            relu,
          }, seed + i);
          i++;
        }
      }
    }
  }
}

for (const relaxed of flavours) {
  const flavour = relaxed ? "relaxed" : "plain";
  Deno.test(`convRowsFunction() ${flavour}: every kernel size, dilation and channel count`, () => {
    sweepKernels(instantiate({ relaxed }), 1);
  });

  Deno.test(`convRowsFunction() ${flavour}: every filter count and width, bias and relu`, () => {
    sweepBlocks(instantiate({ relaxed }), 1000, [
      4,
      8,
      12,
      16,
      20,
      24,
      28,
      32,
      36,
      44,
      1,
      2,
      3,
      6,
      7,
      9,
      10,
      13,
      27,
      31,
    ]);
  });

  Deno.test(`convRowsFunction() ${flavour}: LeNet-5's two convolutions`, () => {
    const kernel = instantiate({ relaxed });
    // conv1 on one padded 32×32 image; conv2 on 6 channels of 14×14, rows running into the next.
    const conv1 = { channels: 1, kh: 5, kw: 5, dh: 1, dw: 1, filters: 6, ow: 28, ldImg: 32 };
    check(kernel, { ...conv1, oy0: 0, oy1: 28, bias: true, relu: true, ldY: 28 }, 7);
    const conv2 = { channels: 6, kh: 5, kw: 5, dh: 1, dw: 1, filters: 16, ow: 10, ldImg: 14 };
    check(kernel, { ...conv2, oy0: 0, oy1: 10, bias: true, relu: false, ldY: 10 }, 8);
    check(kernel, { ...conv2, oy0: 4, oy1: 10, bias: false, relu: true, ldY: 10 + 2 }, 9);
  });

  Deno.test(`convRowsFunction() ${flavour}: every block shape gives the same result`, () => {
    const widthSets = [[], [3, 5], [1, 2, 3, 4, 5, 7]];
    for (const filters of [1, 2, 3, 4]) {
      for (const vectors of [1, 2, 3, 4, 6]) {
        for (const unroll of [1, 2]) {
          const straightWidths = widthSets[(filters + vectors + unroll) % 3];
          const kernel = instantiate({ relaxed, filters, vectors, unroll, straightWidths });
          const seed = 10000 * filters + 100 * vectors + unroll;
          sweepBlocks(kernel, seed, [4, 8, 12, 20, 28, 3, 10, 25]);
          for (const kw of [1, 2, 3, 4, 5, 7]) {
            for (const dw of [1, 2]) {
              const c = { channels: 2, kh: 2, kw, dh: 2, dw, filters: 5, ow: 27, oy0: 2, oy1: 4 };
              check(kernel, { ...c, bias: true, relu: kw % 2 === 0 }, seed + 10 * kw + dw);
            }
          }
        }
      }
    }
  });
}

Deno.test("convRowsFunction() with oy1 ≤ oy0 or no filters writes nothing", () => {
  const kernel = instantiate({ relaxed: flavours[0] });
  kernel.f32.fill(5, 0, 4096);
  kernel.f32.fill(1, 0, 64);
  const call = (oy0: number, oy1: number, filters: number) =>
    kernel.convRows(0, 0, 0, 4096, 1, 1, 1, 1, 1, 16, 256, oy0, oy1, 8, filters, 32, 1024, 0);
  call(2, 2, 3);
  call(3, 1, 3);
  call(0, 4, 0);
  assert.deepEqual([...kernel.f32.subarray(1024, 4096)], new Array(3072).fill(5));
});

Deno.test("convRowsFunction() validates in a module with shared memory", () => {
  for (const relaxed of flavours) {
    const bytes = encodeModule({
      memory: { initial: 1, maximum: 16, shared: true },
      functions: [convRowsFunction({ relaxed })],
    });
    assert.ok(WebAssembly.validate(bytes as BufferSource));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {
      env: { memory },
    });
    const f32 = new Float32Array(memory.buffer);
    f32.set([1, 2, 3, 4, 5, 6, 7, 8], 0); // one row of 8
    packConvRowsWeights(new Float32Array([1, -1]), 0, 1, 2, f32, 16); // one 1×2 filter: x[ox] − x[ox + 1]
    f32.set([0.5], 24); // bias
    (exports.convRows as ConvRows)(0, 64, 96, 128, 1, 1, 2, 1, 1, 32, 32, 0, 1, 4, 1, 16, 16, 0);
    assert.deepEqual([...f32.subarray(32, 36)], [-0.5, -0.5, -0.5, -0.5]);
  }
});

Deno.test("convRowsFunction() rejects bad block shapes", () => {
  assert.throws(() => convRowsFunction({ relaxed: false, filters: 0 }), RangeError);
  assert.throws(() => convRowsFunction({ relaxed: false, filters: 5 }), RangeError);
  assert.throws(() => convRowsFunction({ relaxed: false, vectors: 0 }), RangeError);
  assert.throws(() => convRowsFunction({ relaxed: false, vectors: 1.5 }), RangeError);
  assert.throws(() => convRowsFunction({ relaxed: false, vectors: 9 }), RangeError);
  assert.throws(() => convRowsFunction({ relaxed: false, unroll: 3 }), RangeError);
  assert.throws(() => convRowsFunction({ relaxed: false, straightWidths: [0] }), RangeError);
  assert.throws(() => convRowsFunction({ relaxed: false, straightWidths: [12] }), RangeError);
});

Deno.test("convRows' ReLU is Math.max(sum, 0): a NaN sum stays NaN, as the relu op's", () => {
  for (const relaxed of flavours) {
    const { f32, convRows } = instantiate({ relaxed });
    // A 1×1 filter of 1 over one row of 8 columns: each output is its input.
    const img = 64, w = 32, y = 128, inputs = [Number.NaN, -0, -1, 2, 0, Infinity, -Infinity, 0.5];
    f32.set(inputs, img);
    packConvRowsWeights(new Float32Array([1]), 0, 1, 1, f32, w);
    for (const relu of [0, 1]) {
      convRows(img * 4, w * 4, 0, y * 4, 1, 1, 1, 1, 1, 32, 32 * 4, 0, 1, 8, 1, 32, 32 * 4, relu);
      // The sums start from +0 (no bias), as the reference's do: −0 sums to +0 even without ReLU.
      const want = inputs.map((v) => 0 + v).map((s) => (relu ? Math.max(s, 0) : s));
      for (let i = 0; i < 8; i++) {
        assert.ok(
          Object.is(f32[y + i], want[i]),
          `relaxed ${relaxed}, relu ${relu}: y[${i}] ${f32[y + i]}, want ${want[i]}`,
        );
      }
    }
  }
});
