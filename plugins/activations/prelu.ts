/**
 * PReLU (He et al., 2015): `y = x > 0 ? x : alpha[c]·x` with one learned slope per channel (axis 1 of
 * `[batch, channels, ...]` or of `[batch, features]`), and its two gradient ops: `preluGrad` (to `x`) and
 * `preluAlphaGrad` (to the slopes, summed over batch and positions). Each has a naive reference and a
 * one-pass CPU kernel that walks the data channel by channel, so the slope is read once per run.
 * @module
 */
import {
  defineKernel,
  defineOp,
  type Kernel,
  type OpDef,
  ops,
  runOp,
  type Shape,
  type Tensor,
} from "@cnnlab/core";
import { channelSplit, sameShape } from "./_shape.ts";
import { relu, reluGrad } from "./relu.ts";

type NoAttrs = Record<string, never>;
const none = {} as NoAttrs;

function checkAlpha(x: Shape, alpha: Shape, op: string): void {
  const { channels } = channelSplit(x, op);
  if (alpha.length !== 1 || alpha[0] !== channels) {
    throw new TypeError(
      `Cannot apply ${op} to input [${x}] with alpha [${alpha}]: alpha must be [${channels}], one slope per channel (axis 1)`,
    );
  }
}

/** `[c]` viewed as `[1, c, 1, …]` to broadcast against a tensor of `rank`. */
function perChannel(v: Tensor, rank: number): Tensor {
  return ops.reshape(v, [1, v.shape[0], ...new Array<number>(rank - 2).fill(1)]);
}

/** Sums every axis but the channel axis (1): `[n, c, …]` → `[c]`. */
function sumToChannels(t: Tensor): Tensor {
  return ops.sum(t, { axes: [0, ...Array.from({ length: t.rank - 2 }, (_, i) => i + 2)] });
}

/** Op `prelu`: inputs `x` `[n, c, …]` and `alpha` `[c]`; `y = x > 0 ? x : alpha[c]·x`. */
export const preluOp: OpDef<Record<string, never>> = defineOp<NoAttrs>({
  name: "prelu",
  inputs: ["x", "alpha"],
  outputShape([x, alpha]) {
    checkAlpha(x, alpha, "prelu");
    return x;
  },
  reference([x, alpha], [s]) {
    const { channels, inner } = channelSplit(s, "prelu");
    const y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / inner) % channels;
      y[i] = x[i] > 0 ? x[i] : alpha[c] * x[i];
    }
    return y;
  },
  grads: [
    ({ dy, inputs: [x, alpha] }) => preluGrad(dy, x, alpha),
    ({ dy, inputs: [x] }) => preluAlphaGrad(dy, x),
  ],
});

/** Op `preluGrad`: inputs `(dy, x, alpha)`; `dx = dy · (x > 0 ? 1 : alpha[c])`. */
export const preluGradOp: OpDef<Record<string, never>> = defineOp<NoAttrs>({
  name: "preluGrad",
  inputs: ["dy", "x", "alpha"],
  outputShape([dy, x, alpha]) {
    checkAlpha(x, alpha, "preluGrad");
    return sameShape(dy, x, "preluGrad");
  },
  reference([dy, x, alpha], [s]) {
    const { channels, inner } = channelSplit(s, "preluGrad");
    const dx = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / inner) % channels;
      dx[i] = x[i] > 0 ? dy[i] : alpha[c] * dy[i];
    }
    return dx;
  },
  grads: [
    ({ dy: g, inputs: [, x, alpha] }) => preluGrad(g, x, alpha),
    // Piecewise constant in x: zero almost everywhere.
    ({ inputs: [, x] }) => x.device.zeros(x.shape),
    // d/dalpha[c] = Σ g·dy over positions where x ≤ 0, i.e. g·dy minus its part where x > 0.
    ({ dy: g, inputs: [dy, x] }) => {
      const gdy = ops.mul(g, dy);
      return sumToChannels(ops.sub(gdy, reluGrad(gdy, x)));
    },
  ],
});

/** Op `preluAlphaGrad`: inputs `(dy, x)`; `dalpha[c] = Σ dy·x` over batch and positions of channel c where `x ≤ 0`. */
export const preluAlphaGradOp: OpDef<Record<string, never>> = defineOp<NoAttrs>({
  name: "preluAlphaGrad",
  inputs: ["dy", "x"],
  outputShape([dy, x]) {
    sameShape(dy, x, "preluAlphaGrad");
    return [channelSplit(x, "preluAlphaGrad").channels];
  },
  reference([dy, x], [s]) {
    const { channels, inner } = channelSplit(s, "preluAlphaGrad");
    const da = new Float32Array(channels);
    for (let i = 0; i < x.length; i++) {
      const c = Math.floor(i / inner) % channels;
      if (!(x[i] > 0)) da[c] += dy[i] * x[i];
    }
    return da;
  },
  grads: [
    // d/d dy = g[c]·min(x, 0) = g[c]·(x − relu(x)).
    ({ dy: g, inputs: [, x] }) => ops.mul(perChannel(g, x.rank), ops.sub(x, relu(x))),
    // d/dx = g[c]·dy where x ≤ 0 = g[c]·(dy − reluGrad(dy, x)).
    ({ dy: g, inputs: [dy, x] }) => ops.mul(perChannel(g, x.rank), ops.sub(dy, reluGrad(dy, x))),
  ],
});

/**
 * Applies PReLU with per-channel slopes.
 *
 * @param x `[batch, channels, ...]` or `[batch, features]`.
 * @param alpha `[channels]`: the slope for negative inputs of each channel.
 * @returns `x > 0 ? x : alpha[c]·x`, shaped like `x`.
 * @throws {TypeError} If `x` has rank below 2 or `alpha` is not `[channels]`.
 * @example Two channels with their own slopes
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const y = functional.prelu(device.tensor([-4, -4, 3, -4], [2, 2]), device.tensor([0.5, 0.25], [2]));
 * assert.deepEqual([...y.dataSync()], [-2, -1, 3, -1]);
 * ```
 */
export function prelu(x: Tensor, alpha: Tensor): Tensor {
  return runOp(preluOp, [x, alpha], none);
}

/**
 * Backpropagates through PReLU to its input.
 *
 * @param dy Gradient with respect to the output, shaped like `x`.
 * @param x The forward input.
 * @param alpha The slopes `[channels]`.
 * @returns `dy · (x > 0 ? 1 : alpha[c])`.
 * @throws {TypeError} If the shapes do not fit.
 * @example Negative inputs scale the gradient by their channel's slope
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const dx = functional.preluGrad(device.fill([1, 2], 4), device.tensor([-1, -1], [1, 2]), device.tensor([0.5, 0.25], [2]));
 * assert.deepEqual([...dx.dataSync()], [2, 1]);
 * ```
 */
export function preluGrad(dy: Tensor, x: Tensor, alpha: Tensor): Tensor {
  return runOp(preluGradOp, [dy, x, alpha], none);
}

/**
 * Backpropagates through PReLU to its slopes: sums `dy·x` over batch and positions where `x ≤ 0`.
 *
 * @param dy Gradient with respect to the output, shaped like `x`.
 * @param x The forward input `[batch, channels, ...]`.
 * @returns `[channels]`.
 * @throws {TypeError} If the shapes differ or `x` has rank below 2.
 * @example Only non-positive inputs contribute
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const da = functional.preluAlphaGrad(device.fill([2, 2], 1), device.tensor([-1, 5, -2, -3], [2, 2]));
 * assert.deepEqual([...da.dataSync()], [-3, -3]);
 * ```
 */
export function preluAlphaGrad(dy: Tensor, x: Tensor): Tensor {
  return runOp(preluAlphaGradOp, [dy, x], none);
}

/** CPU kernel for `prelu`: one pass, channel by channel. */
export const preluCpu: Kernel<Float32Array, NoAttrs> = defineKernel<Float32Array, NoAttrs>({
  op: "prelu",
  backend: "cpu",
  run([{ storage: x, shape }, { storage: alpha }]) {
    const { outer, channels, inner } = channelSplit(shape, "prelu");
    const y = new Float32Array(x.length);
    let o = 0;
    for (let b = 0; b < outer; b++) {
      for (let c = 0; c < channels; c++) {
        const a = alpha[c], end = o + inner;
        for (; o < end; o++) {
          const v = x[o];
          y[o] = v > 0 ? v : a * v;
        }
      }
    }
    return y;
  },
});

/** CPU kernel for `preluGrad`: one pass, channel by channel. */
export const preluGradCpu: Kernel<Float32Array, NoAttrs> = defineKernel<Float32Array, NoAttrs>({
  op: "preluGrad",
  backend: "cpu",
  run([{ storage: dy }, { storage: x, shape }, { storage: alpha }]) {
    const { outer, channels, inner } = channelSplit(shape, "preluGrad");
    const dx = new Float32Array(x.length);
    let o = 0;
    for (let b = 0; b < outer; b++) {
      for (let c = 0; c < channels; c++) {
        const a = alpha[c], end = o + inner;
        for (; o < end; o++) dx[o] = x[o] > 0 ? dy[o] : a * dy[o];
      }
    }
    return dx;
  },
});

/** CPU kernel for `preluAlphaGrad`: one pass, accumulating each channel's run in double precision. */
export const preluAlphaGradCpu: Kernel<Float32Array, NoAttrs> = defineKernel<Float32Array, NoAttrs>({
  op: "preluAlphaGrad",
  backend: "cpu",
  run([{ storage: dy }, { storage: x, shape }]) {
    const { outer, channels, inner } = channelSplit(shape, "preluAlphaGrad");
    const acc = new Float64Array(channels);
    let o = 0;
    for (let b = 0; b < outer; b++) {
      for (let c = 0; c < channels; c++) {
        let s = 0;
        const end = o + inner;
        for (; o < end; o++) {
          const v = x[o];
          if (!(v > 0)) s += dy[o] * v;
        }
        acc[c] += s;
      }
    }
    return Float32Array.from(acc);
  },
});
