import { ops, Registry, Rng, type Shape, sizeOf, type Tensor, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { nchwToNhwc, nhwcToNchw, tf } from "../../tests/tfjs.ts";
import conv, {
  type Conv2dAttrs,
  conv2dBackpropFilterOp,
  conv2dBackpropInputOp,
  conv2dBiasOp,
  conv2dOp,
  convOps,
} from "./mod.ts";
import { setMaxCols } from "./_im2col.ts";
import { setCpuKernels, setCpuThreads } from "@cnnlab/backend-cpu/gemm";

const device = await new Registry().use(cpu).use(conv).device("cpu");
const rng = new Rng(7);
const arg = (shape: Shape, lo = -1, hi = 1) => ({ values: uniform(rng, sizeOf(shape), lo, hi), shape });

interface Case {
  label: string;
  x: Shape;
  w: Shape;
  attrs: Conv2dAttrs;
}
const attrs = (a: Partial<Conv2dAttrs> = {}): Conv2dAttrs => ({
  stride: [1, 1],
  padding: [0, 0],
  dilation: [1, 1],
  groups: 1,
  ...a,
});

/** OIHW → HWIO (TensorFlow's filter layout). */
function oihwToHwio(w: Float32Array, [o, i, h, wd]: Shape): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let p = 0; p < h; p++) {
        for (let q = 0; q < wd; q++) {
          out[((p * wd + q) * i + b) * o + a] = w[((a * i + b) * h + p) * wd + q];
        }
      }
    }
  }
  return out;
}

/** conv2d written from the formula on an explicitly zero-padded copy of the input (shares nothing with the kernels). */
function naiveConv2d(
  x: Float32Array,
  [n, c, h, w]: Shape,
  f: Float32Array,
  [o, cg, kh, kw]: Shape,
  a: Conv2dAttrs,
) {
  const [sh, sw] = a.stride, [ph, pw] = a.padding, [dh, dw] = a.dilation;
  const hp = h + 2 * ph, wp = w + 2 * pw;
  const padded = new Float32Array(n * c * hp * wp);
  for (let i = 0; i < n * c; i++) {
    for (let y = 0; y < h; y++) {
      for (let z = 0; z < w; z++) padded[(i * hp + y + ph) * wp + z + pw] = x[(i * h + y) * w + z];
    }
  }
  const oh = Math.floor((hp - dh * (kh - 1) - 1) / sh) + 1,
    ow = Math.floor((wp - dw * (kw - 1) - 1) / sw) + 1;
  const out = new Float32Array(n * o * oh * ow);
  const og = o / a.groups;
  for (let b = 0; b < n; b++) {
    for (let oc = 0; oc < o; oc++) {
      const first = Math.floor(oc / og) * cg;
      for (let y = 0; y < oh; y++) {
        for (let z = 0; z < ow; z++) {
          let s = 0;
          for (let ic = 0; ic < cg; ic++) {
            for (let p = 0; p < kh; p++) {
              for (let q = 0; q < kw; q++) {
                s += padded[((b * c + first + ic) * hp + y * sh + p * dh) * wp + z * sw + q * dw] *
                  f[((oc * cg + ic) * kh + p) * kw + q];
              }
            }
          }
          out[((b * o + oc) * oh + y) * ow + z] = s;
        }
      }
    }
  }
  return { values: out, shape: [n, o, oh, ow] };
}

function run(c: Case, x: Float32Array, w: Float32Array) {
  return tidy(() => {
    const y = convOps.conv2d(device.tensor(x, c.x), device.tensor(w, c.w), c.attrs);
    return { values: y.dataSync(), shape: y.shape };
  });
}

Deno.test("conv2d() matches tf.conv2d: plain, padded, strided, dilated with stride 1", () => {
  const cases: Case[] = [
    { label: "plain", x: [2, 3, 7, 6], w: [4, 3, 3, 3], attrs: attrs() },
    { label: "padded", x: [2, 2, 5, 5], w: [3, 2, 3, 2], attrs: attrs({ padding: [1, 2] }) },
    { label: "strided", x: [1, 3, 9, 8], w: [2, 3, 3, 3], attrs: attrs({ stride: [2, 3], padding: [1, 1] }) },
    {
      label: "dilated",
      x: [2, 2, 9, 10],
      w: [3, 2, 3, 3],
      attrs: attrs({ dilation: [2, 3], padding: [2, 1] }),
    },
    { label: "5×5 pad 2 (LeNet)", x: [2, 1, 12, 12], w: [6, 1, 5, 5], attrs: attrs({ padding: [2, 2] }) },
  ];
  for (const c of cases) {
    const x = uniform(rng, sizeOf(c.x)), w = uniform(rng, sizeOf(c.w));
    const got = run(c, x, w);
    const [n, ci, h, wd] = c.x, [o, , kh, kw] = c.w;
    const [ph, pw] = c.attrs.padding;
    const want = tf.tidy(() => {
      const y = tf.conv2d(
        tf.tensor4d(nchwToNhwc(x, c.x), [n, h, wd, ci]),
        tf.tensor4d(oihwToHwio(w, c.w), [kh, kw, ci, o]),
        c.attrs.stride as [number, number],
        [[0, 0], [ph, ph], [pw, pw], [0, 0]],
        "NHWC",
        c.attrs.dilation as [number, number],
      );
      return {
        values: nhwcToNchw(y.dataSync() as Float32Array, y.shape),
        shape: [y.shape[0], y.shape[3], y.shape[1], y.shape[2]],
      };
    });
    assert.deepEqual(got.shape, want.shape, c.label);
    assertClose(got.values, want.values, { label: c.label, atol: 1e-4 });
  }
});

Deno.test("conv2d() with groups, and with stride and dilation together, matches a naive loop", () => {
  const cases: Case[] = [
    { label: "groups 2", x: [2, 4, 6, 7], w: [6, 2, 3, 3], attrs: attrs({ groups: 2, padding: [1, 1] }) },
    { label: "depthwise", x: [1, 3, 5, 5], w: [3, 1, 3, 3], attrs: attrs({ groups: 3 }) },
    {
      label: "stride 2 dilation 2",
      x: [2, 2, 11, 10],
      w: [3, 2, 3, 2],
      attrs: attrs({ stride: [2, 2], dilation: [2, 2], padding: [1, 0] }),
    },
    {
      label: "all at once",
      x: [3, 4, 12, 9],
      w: [4, 2, 2, 3],
      attrs: attrs({ groups: 2, stride: [3, 2], dilation: [2, 3], padding: [2, 1] }),
    },
  ];
  for (const c of cases) {
    const x = uniform(rng, sizeOf(c.x)), w = uniform(rng, sizeOf(c.w));
    const got = run(c, x, w);
    const want = naiveConv2d(x, c.x, w, c.w, c.attrs);
    assert.deepEqual(got.shape, want.shape, c.label);
    assertClose(got.values, want.values, { label: c.label, atol: 1e-4 });
  }
});

const combos: Case[] = [
  { label: "plain", x: [2, 3, 6, 5], w: [4, 3, 3, 3], attrs: attrs() },
  { label: "pad", x: [2, 2, 5, 5], w: [3, 2, 3, 3], attrs: attrs({ padding: [1, 2] }) },
  { label: "groups 2", x: [2, 4, 6, 6], w: [4, 2, 3, 3], attrs: attrs({ groups: 2, padding: [1, 1] }) },
  {
    label: "dilation 2",
    x: [1, 2, 9, 9],
    w: [2, 2, 3, 3],
    attrs: attrs({ dilation: [2, 2], padding: [1, 1] }),
  },
  { label: "stride 2", x: [2, 2, 9, 8], w: [3, 2, 3, 3], attrs: attrs({ stride: [2, 2], padding: [1, 1] }) },
  {
    label: "kernel 3×2",
    x: [2, 3, 7, 6],
    w: [2, 3, 3, 2],
    attrs: attrs({ padding: [1, 0], stride: [1, 2] }),
  },
  {
    label: "all",
    x: [3, 4, 11, 10],
    w: [6, 2, 3, 2],
    attrs: attrs({ groups: 2, stride: [2, 3], dilation: [2, 2], padding: [2, 1] }),
  },
  { label: "1×1 pointwise", x: [2, 4, 5, 3], w: [6, 2, 1, 1], attrs: attrs({ groups: 2 }) },
  { label: "1×1 strided", x: [2, 3, 5, 5], w: [2, 3, 1, 1], attrs: attrs({ stride: [2, 2] }) },
  {
    label: "kernel wider than padded input rows hit",
    x: [1, 1, 3, 3],
    w: [1, 1, 3, 3],
    attrs: attrs({ padding: [3, 3], dilation: [2, 2] }),
  },
];

/**
 * Checks the three ops (and conv2dBias, with and without its ReLU) against their references; `forward` loosens the forward
 * ops' tolerance (Winograd's rounding error grows with the sum of the terms' magnitudes, not with
 * the result).
 */
function checkAllOps(c: Case, forward: { atol?: number } = {}) {
  const [n, , h, w] = c.x;
  const out = conv2dOp.outputShape([c.x, c.w], c.attrs);
  const x = arg(c.x), w_ = arg(c.w), dy = arg(out);
  checkAgainstReference(device, conv2dOp, [x, w_], c.attrs, forward);
  const bias = arg([c.w[0]], -2, 2);
  checkAgainstReference(device, conv2dBiasOp, [x, w_, bias], c.attrs, forward);
  checkAgainstReference(device, conv2dBiasOp, [x, w_, bias], { ...c.attrs, relu: true }, forward);
  checkAgainstReference(device, conv2dBackpropInputOp, [dy, w_], {
    ...c.attrs,
    inputShape: [n, c.x[1], h, w],
  });
  checkAgainstReference(device, conv2dBackpropFilterOp, [x, dy], { ...c.attrs, filterShape: c.w });
}

Deno.test("conv2d ops: the CPU kernels agree with the references over attribute combinations", () => {
  for (const c of combos) checkAllOps(c);
});

Deno.test("conv2d ops: the CPU kernels agree with the references when the batch is split into chunks", () => {
  const before = setMaxCols(2 * 2 * 3 * 3 * 9 * 8); // two images of the first case per chunk
  try {
    checkAllOps({
      label: "chunks of 2 of 5",
      x: [5, 4, 9, 8],
      w: [4, 2, 3, 3],
      attrs: attrs({ groups: 2, padding: [1, 1] }),
    });
    checkAllOps({
      label: "one image per chunk",
      x: [3, 4, 12, 12],
      w: [2, 4, 3, 3],
      attrs: attrs({ padding: [1, 1], stride: [2, 2] }),
    });
  } finally {
    setMaxCols(before);
  }
});

Deno.test("conv2d ops: the CPU kernels agree with the references with the TypeScript GEMM and im2col", () => {
  const before = setCpuKernels("ts");
  try {
    for (const c of combos) checkAllOps(c);
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
});

Deno.test("conv2d ops: the CPU kernels agree with the references on LeNet-5's layers on two threads", () => {
  const before = setCpuThreads(2);
  try {
    // Large enough that im2col, col2im and the GEMMs run on both threads.
    checkAllOps({ label: "conv1", x: [16, 1, 28, 28], w: [6, 1, 5, 5], attrs: attrs({ padding: [2, 2] }) });
    checkAllOps({ label: "conv2", x: [16, 6, 14, 14], w: [16, 6, 5, 5], attrs: attrs() });
  } finally {
    setCpuThreads(before);
  }
});

Deno.test("conv2d ops: every CPU convolution path agrees with the references, the bias and ReLU included", () => {
  // Row convolution (stride 1, ≤ 16 filters, rows ≥ 8 wide), implicit GEMM (8 filters, depth 72,
  // stride 2), Winograd 3×3 (≥ 64 channels) and 5×5 (≥ 32), im2col + GEMM on one image: the bias is
  // added in registers, after each image, or after the product. Winograd's outputs are within
  // 4·10⁻⁶ of Σ|w·x| (see backend-cpu's winograd_test.ts): here about 576 and 800 terms of mean
  // magnitude 1/4, so 6·10⁻⁴ and 8·10⁻⁴.
  checkAllOps({ label: "rows", x: [3, 2, 9, 10], w: [5, 2, 3, 3], attrs: attrs() });
  checkAllOps({ label: "implicit", x: [2, 8, 9, 9], w: [8, 8, 3, 3], attrs: attrs({ stride: [2, 2] }) });
  checkAllOps({
    label: "Winograd 3×3",
    x: [2, 64, 7, 6],
    w: [65, 64, 3, 3],
    attrs: attrs({ padding: [1, 1] }),
  }, { atol: 6e-4 });
  checkAllOps({
    label: "Winograd 5×5",
    x: [1, 32, 9, 8],
    w: [40, 32, 5, 5],
    attrs: attrs({ padding: [2, 2] }),
  }, { atol: 8e-4 });
  checkAllOps({
    label: "one image, GEMM",
    x: [1, 3, 12, 12],
    w: [40, 3, 3, 3],
    attrs: attrs({ stride: [2, 2] }),
  });
});

Deno.test("conv2d ops are adjoint: <conv2d(x, w), dy> = <x, backpropInput(dy, w)> = <w, backpropFilter(x, dy)>", () => {
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  for (const c of combos) {
    tidy(() => {
      const out = conv2dOp.outputShape([c.x, c.w], c.attrs);
      const x = device.tensor(arg(c.x).values, c.x), w = device.tensor(arg(c.w).values, c.w);
      const dy = device.tensor(arg(out).values, out);
      const y = convOps.conv2d(x, w, c.attrs);
      const dx = convOps.conv2dBackpropInput(dy, w, { ...c.attrs, inputShape: c.x });
      const dw = convOps.conv2dBackpropFilter(x, dy, { ...c.attrs, filterShape: c.w });
      const ref = dot(y.dataSync(), dy.dataSync());
      assertClose([dot(x.dataSync(), dx.dataSync()), dot(w.dataSync(), dw.dataSync())], [ref, ref], {
        atol: 1e-3,
        label: c.label,
      });
    });
  }
});

const gradCases: Case[] = [
  { label: "padded", x: [2, 2, 5, 4], w: [2, 2, 3, 3], attrs: attrs({ padding: [1, 1] }) },
  {
    label: "grouped dilated strided",
    x: [2, 4, 9, 8],
    w: [4, 2, 3, 2],
    attrs: attrs({ groups: 2, dilation: [2, 2], stride: [2, 2], padding: [1, 1] }),
  },
];

Deno.test("conv2d() gradients w.r.t. x and w match central differences", () => {
  for (const c of gradCases) {
    checkGradients(device, (x, w) => convOps.conv2d(x, w, c.attrs), [arg(c.x), arg(c.w)], {
      rng,
      label: c.label,
    });
  }
});

Deno.test("conv2dBias() gradients w.r.t. x, w and the bias match central differences", () => {
  for (const c of gradCases) {
    checkGradients(device, (x, w, b) => convOps.conv2dBias(x, w, b, c.attrs), [
      arg(c.x),
      arg(c.w),
      arg([c.w[0]]),
    ], {
      rng,
      label: `bias ${c.label}`,
    });
  }
});

Deno.test("conv2dBias() with ReLU: gradients match central differences away from the kink", () => {
  for (const c of gradCases) {
    const inputs = [arg(c.x), arg(c.w), arg([c.w[0]])];
    // A central difference across the kink is not the derivative: outputs whose sum lies within
    // 0.1 of 0 are left out of the check (a step moves a sum by at most about 0.01 here).
    const sums = tidy(() =>
      convOps.conv2dBias(
        ...inputs.map((a) => device.tensor(a.values, a.shape)) as [Tensor, Tensor, Tensor],
        c.attrs,
      )
        .dataSync().slice()
    );
    const shape = conv2dOp.outputShape([c.x, c.w], c.attrs);
    const kept = sums.map((v) => (Math.abs(v) < 0.1 ? 0 : 1));
    const negatives = sums.filter((v) => v <= -0.1).length, positives = sums.filter((v) => v >= 0.1).length;
    assert.ok(negatives > 0 && positives > 0, `${c.label}: ${negatives} sums ≤ −0.1 and ${positives} ≥ 0.1`);
    const mask = device.tensor(kept, shape);
    checkGradients(
      device,
      (x, w, b) => ops.mul(convOps.conv2dBias(x, w, b, { ...c.attrs, relu: true }), mask),
      inputs,
      {
        rng,
        label: `bias + ReLU ${c.label}`,
      },
    );
    mask.dispose();
  }
});

Deno.test("conv2dBias() with ReLU keeps NaN on every CPU path: a NaN weight poisons its filter's outputs", () => {
  // Row convolution (LeNet-5's two layers), Winograd (3×3, many channels), im2col + GEMM (stride 2),
  // each on the WebAssembly kernels and the TypeScript ones.
  const shapes: [Shape, Shape, Partial<Conv2dAttrs>][] = [
    [[4, 1, 28, 28], [6, 1, 5, 5], { padding: [2, 2] }],
    [[4, 6, 14, 14], [16, 6, 5, 5], {}],
    [[1, 64, 13, 13], [96, 64, 3, 3], { padding: [1, 1] }],
    [[2, 3, 15, 15], [8, 3, 3, 3], { stride: [2, 2] }],
  ];
  for (const kernels of ["wasm", "ts"] as const) {
    const before = setCpuKernels(kernels);
    try {
      for (const [xs, ws, a] of shapes) {
        const w = arg(ws).values, perFilter = sizeOf(ws) / ws[0];
        w[perFilter + 3] = NaN; // filter 1
        const y = tidy(() =>
          convOps.conv2dBias(
            device.tensor(arg(xs).values, xs),
            device.tensor(w, ws),
            device.tensor(arg([ws[0]]).values, [ws[0]]),
            { ...a, relu: true },
          ).dataSync()
        );
        const [n, o] = [xs[0], ws[0]], plane = y.length / (n * o);
        for (let i = 0; i < y.length; i++) {
          const filter = Math.floor(i / plane) % o;
          const ok = filter === 1 ? Number.isNaN(y[i]) : y[i] >= 0;
          assert.ok(ok, `${kernels} ${xs}·${ws}: y[${i}] (filter ${filter}) is ${y[i]}`);
        }
      }
    } finally {
      setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
    }
  }
});

Deno.test("conv2dBiasOp.outputShape() wants one bias per filter", () => {
  assert.deepEqual(conv2dBiasOp.outputShape([[1, 3, 8, 8], [4, 3, 3, 3], [4]], attrs()), [1, 4, 6, 6]);
  assert.throws(
    () => conv2dBiasOp.outputShape([[1, 3, 8, 8], [4, 3, 3, 3], [3]], attrs()),
    /Cannot apply conv2dBias with bias \[3\]: it must be \[4\]/,
  );
});

Deno.test("conv2dBackpropInput() and conv2dBackpropFilter() gradients match central differences", () => {
  for (const c of gradCases) {
    const out = conv2dOp.outputShape([c.x, c.w], c.attrs);
    checkGradients(
      device,
      (dy, w) => convOps.conv2dBackpropInput(dy, w, { ...c.attrs, inputShape: c.x }),
      [arg(out), arg(c.w)],
      { rng, label: `backpropInput ${c.label}` },
    );
    checkGradients(
      device,
      (x, dy) => convOps.conv2dBackpropFilter(x, dy, { ...c.attrs, filterShape: c.w }),
      [arg(c.x), arg(out)],
      { rng, label: `backpropFilter ${c.label}` },
    );
  }
});

Deno.test("conv2dOp.outputShape() follows the size formula and rejects bad shapes and attributes", () => {
  assert.deepEqual(conv2dOp.outputShape([[1, 3, 32, 32], [8, 3, 3, 3]], attrs({ dilation: [2, 2] })), [
    1,
    8,
    28,
    28,
  ]);
  assert.deepEqual(conv2dOp.outputShape([[2, 1, 28, 28], [6, 1, 5, 5]], attrs({ padding: [2, 2] })), [
    2,
    6,
    28,
    28,
  ]);
  assert.deepEqual(conv2dOp.outputShape([[1, 1, 7, 8], [1, 1, 3, 2]], attrs({ stride: [2, 3] })), [
    1,
    1,
    3,
    3,
  ]);
  assert.throws(
    () => conv2dOp.outputShape([[1, 1, 4, 4], [1, 1, 5, 5]], attrs()),
    (e: Error) =>
      e instanceof TypeError && /conv2d/.test(e.message) && /\[1,1,4,4\]/.test(e.message) &&
      /\[1,1,5,5\]/.test(e.message),
  );
  assert.throws(
    () => conv2dOp.outputShape([[1, 1, 5, 5], [1, 1, 3, 3]], attrs({ dilation: [3, 3] })),
    TypeError,
  );
  assert.throws(() => conv2dOp.outputShape([[1, 4, 5, 5], [2, 3, 3, 3]], attrs()), TypeError); // channels
  assert.throws(
    () => conv2dOp.outputShape([[1, 4, 5, 5], [3, 2, 3, 3]], attrs({ groups: 2 })),
    /divisible by groups/,
  );
  assert.throws(() => conv2dOp.outputShape([[1, 3, 5], [1, 3, 3, 3]], attrs()), TypeError);
  assert.throws(
    () => conv2dOp.outputShape([[1, 1, 5, 5], [1, 1, 3, 3]], attrs({ stride: [0, 1] })),
    RangeError,
  );
  assert.throws(
    () => conv2dOp.outputShape([[1, 1, 5, 5], [1, 1, 3, 3]], attrs({ padding: [-1, 0] })),
    RangeError,
  );
  assert.throws(() => conv2dOp.outputShape([[1, 1, 5, 5], [1, 1, 3, 3]], attrs({ groups: 0 })), RangeError);
  assert.throws(
    () =>
      conv2dBackpropInputOp.outputShape([[1, 1, 2, 2], [1, 1, 3, 3]], {
        ...attrs(),
        inputShape: [1, 1, 5, 5],
      }),
    /conv2dBackpropInput.*\[1,1,3,3\]/,
  );
  assert.throws(
    () =>
      conv2dBackpropFilterOp.outputShape([[1, 1, 5, 5], [1, 2, 3, 3]], {
        ...attrs(),
        filterShape: [1, 1, 3, 3],
      }),
    /conv2dBackpropFilter/,
  );
});
