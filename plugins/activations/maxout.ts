/**
 * Maxout (Goodfellow et al., 2013) over the channel axis: with `pieces = k`, input channels
 * `[n, c, …]` become `c / k` output channels, output channel `j` being the maximum of the k
 * **consecutive** input channels `j·k, j·k + 1, …, j·k + k − 1` (so a preceding layer's channels
 * are grouped in order, not interleaved). The gradient goes to the argmax of each group, the first
 * of them on ties, through the op `maxoutGrad`.
 *
 * The CPU kernels walk each group's channels as contiguous runs of `h·w` values, so the inner loop
 * is a plain compare over adjacent memory; the backward pass keeps the running best value and index
 * for one run in two scratch arrays and then scatters `dy` once.
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

/** Options of maxout (the layer, the function and the op's attributes). */
export interface MaxoutOptions {
  /** Number of consecutive channels reduced to one by their maximum; a positive integer, required. */
  readonly pieces: number;
}

/** Attributes of the `maxout` and `maxoutGrad` ops. */
export type MaxoutAttrs = Required<MaxoutOptions>;

/**
 * Checks maxout's options; `pieces` has no default.
 *
 * @param options User options.
 * @returns The resolved options.
 * @throws {RangeError} If `pieces` is not a positive integer.
 * @example Pieces must be given
 * ```ts
 * import { resolveMaxoutOptions } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveMaxoutOptions({ pieces: 2 }), { pieces: 2 });
 * assert.throws(() => resolveMaxoutOptions({ pieces: 0 }), RangeError);
 * ```
 */
export function resolveMaxoutOptions(options: MaxoutOptions): MaxoutAttrs {
  const pieces = options?.pieces;
  if (!Number.isInteger(pieces) || pieces < 1) {
    throw new RangeError(
      `Cannot create maxout with pieces ${pieces}: pieces must be a positive integer (channels per group), e.g. { pieces: 2 }`,
    );
  }
  return { pieces };
}

function maxoutShape(x: Shape, { pieces }: MaxoutAttrs, op: string): Shape {
  resolveMaxoutOptions({ pieces });
  const { channels } = channelSplit(x, op);
  if (channels % pieces !== 0) {
    throw new TypeError(
      `Cannot apply ${op} with pieces ${pieces} to input [${x}]: its ${channels} channels (axis 1) are not divisible by ${pieces}; change the channels before it or the piece count`,
    );
  }
  return [x[0], channels / pieces, ...x.slice(2)];
}

/** Op `maxout`: `[n, c, …]` → `[n, c / pieces, …]`, `y[:, j] = max over i < pieces of x[:, j·pieces + i]`. */
export const maxoutOp: OpDef<MaxoutAttrs> = defineOp<MaxoutAttrs>({
  name: "maxout",
  inputs: ["x"],
  outputShape: ([x], attrs) => maxoutShape(x, attrs, "maxout"),
  reference([x], [s], { pieces }) {
    const { channels, inner } = channelSplit(s, "maxout");
    const groups = channels / pieces;
    const y = new Float32Array(x.length / pieces);
    for (let o = 0; o < y.length; o++) {
      const p = o % inner, j = Math.floor(o / inner) % groups, b = Math.floor(o / (inner * groups));
      let best = x[(b * channels + j * pieces) * inner + p];
      for (let i = 1; i < pieces; i++) {
        const v = x[(b * channels + j * pieces + i) * inner + p];
        if (v > best) best = v;
      }
      y[o] = best;
    }
    return y;
  },
  grads: [({ dy, inputs: [x], attrs }) => maxoutGrad(dy, x, attrs)],
});

/** Op `maxoutGrad`: inputs `(dy, x)` with `dy` shaped like maxout's output; `dx` is `dy` at each group's argmax (first on ties), 0 elsewhere. */
export const maxoutGradOp: OpDef<MaxoutAttrs> = defineOp<MaxoutAttrs>({
  name: "maxoutGrad",
  inputs: ["dy", "x"],
  outputShape([dy, x], attrs) {
    sameShape(dy, maxoutShape(x, attrs, "maxoutGrad"), "maxoutGrad");
    return x;
  },
  reference([dy, x], [, s], { pieces }) {
    const { channels, inner } = channelSplit(s, "maxoutGrad");
    const groups = channels / pieces;
    const dx = new Float32Array(x.length);
    for (let o = 0; o < dy.length; o++) {
      const p = o % inner, j = Math.floor(o / inner) % groups, b = Math.floor(o / (inner * groups));
      const first = (b * channels + j * pieces) * inner + p;
      let arg = 0;
      for (let i = 1; i < pieces; i++) if (x[first + i * inner] > x[first + arg * inner]) arg = i;
      dx[first + arg * inner] = dy[o];
    }
    return dx;
  },
  grads: [
    // d/d dy: each output position collects g at its group's argmax.
    ({ dy: g, inputs: [dy, x], attrs }) => {
      const mask = maxoutGrad(dy.device.fill(dy.shape, 1), x, attrs);
      const grouped = ops.reshape(ops.mul(g, mask), [
        x.shape[0],
        dy.shape[1],
        attrs.pieces,
        ...x.shape.slice(2),
      ]);
      return ops.sum(grouped, { axes: [2] });
    },
    // Piecewise constant in x: zero almost everywhere.
    ({ inputs: [, x] }) => x.device.zeros(x.shape),
  ],
});

/**
 * Applies maxout over groups of consecutive channels.
 *
 * @param x `[batch, channels, ...]` or `[batch, features]`, channels divisible by `pieces`.
 * @param options `pieces`: channels per group.
 * @returns `[batch, channels / pieces, ...]`: group j is the max of channels `j·pieces … j·pieces + pieces − 1`.
 * @throws {RangeError} If `pieces` is not a positive integer.
 * @throws {TypeError} If `x` has rank below 2 or its channels are not divisible by `pieces`.
 * @example Four features, two groups of two
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const y = functional.maxout(device.tensor([1, 5, -2, -3], [1, 4]), { pieces: 2 });
 * assert.deepEqual([...y.dataSync()], [5, -2]);
 * ```
 */
export function maxout(x: Tensor, options: MaxoutOptions): Tensor {
  return runOp(maxoutOp, [x], resolveMaxoutOptions(options));
}

/**
 * Backpropagates through maxout: routes each `dy` value to its group's argmax (the first on ties).
 *
 * @param dy Gradient with respect to maxout's output `[batch, channels / pieces, ...]`.
 * @param x The forward input `[batch, channels, ...]`.
 * @param options `pieces`, as in the forward pass.
 * @returns Gradient shaped like `x`.
 * @throws {RangeError} If `pieces` is not a positive integer.
 * @throws {TypeError} If the shapes do not fit.
 * @example Ties send the gradient to the first channel
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import activations, { functional } from "@cnnlab/activations";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(activations).device("cpu");
 * const dx = functional.maxoutGrad(device.tensor([7, 9], [1, 2]), device.tensor([3, 3, 1, 2], [1, 4]), { pieces: 2 });
 * assert.deepEqual([...dx.dataSync()], [7, 0, 0, 9]);
 * ```
 */
export function maxoutGrad(dy: Tensor, x: Tensor, options: MaxoutOptions): Tensor {
  return runOp(maxoutGradOp, [dy, x], resolveMaxoutOptions(options));
}

/** CPU kernel for `maxout`: per group, copy the first channel's run, then compare the others in place. */
export const maxoutCpu: Kernel<Float32Array, MaxoutAttrs> = defineKernel<Float32Array, MaxoutAttrs>({
  op: "maxout",
  backend: "cpu",
  run([{ storage: x, shape }], { pieces }) {
    const { outer, channels, inner } = channelSplit(shape, "maxout");
    const groups = channels / pieces;
    const y = new Float32Array(outer * groups * inner);
    for (let g = 0; g < outer * groups; g++) {
      const yo = g * inner, xo = g * pieces * inner;
      y.set(x.subarray(xo, xo + inner), yo);
      for (let i = 1; i < pieces; i++) {
        const xi = xo + i * inner;
        for (let p = 0; p < inner; p++) {
          const v = x[xi + p];
          if (v > y[yo + p]) y[yo + p] = v;
        }
      }
    }
    return y;
  },
});

/** CPU kernel for `maxoutGrad`: per group, track the running best and its piece, then scatter `dy`. */
export const maxoutGradCpu: Kernel<Float32Array, MaxoutAttrs> = defineKernel<Float32Array, MaxoutAttrs>({
  op: "maxoutGrad",
  backend: "cpu",
  run([{ storage: dy }, { storage: x, shape }], { pieces }) {
    const { outer, channels, inner } = channelSplit(shape, "maxoutGrad");
    const groups = channels / pieces;
    const dx = new Float32Array(x.length);
    const best = new Float32Array(inner), arg = new Int32Array(inner);
    for (let g = 0; g < outer * groups; g++) {
      const yo = g * inner, xo = g * pieces * inner;
      best.set(x.subarray(xo, xo + inner));
      arg.fill(0);
      for (let i = 1; i < pieces; i++) {
        const xi = xo + i * inner;
        for (let p = 0; p < inner; p++) {
          const v = x[xi + p];
          if (v > best[p]) {
            best[p] = v;
            arg[p] = i;
          }
        }
      }
      for (let p = 0; p < inner; p++) dx[xo + arg[p] * inner + p] = dy[yo + p];
    }
    return dx;
  },
});
