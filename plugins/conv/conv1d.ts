/**
 * The `conv1d` layer: a 1-D convolution over `[batch, channels, length]`, computed as a `conv2d` of
 * height 1 (the input and filter are reshaped to `[n, c, 1, length]` and `[filters, c/groups, 1, k]`).
 * @module
 */
import {
  type BuildContext,
  type ForwardContext,
  type Layer,
  ops,
  type Shape,
  single,
  singleShape,
  type Tensor,
} from "@cnnlab/core";
import { ConvParameters } from "./_parameters.ts";
import { outSize } from "./_geometry.ts";
import { boolOption, checkKeys, intOption, samePadding } from "./_options.ts";
import { conv2d as conv2dOp, conv2dBias as conv2dBiasOp } from "./conv2d_op.ts";

/** Options of the `conv1d` layer, as written in a model spec. */
export interface Conv1dOptions {
  /** Output channels. */
  readonly filters: number;
  /** Kernel length. */
  readonly kernelSize: number;
  /** Step between output positions; default 1. */
  readonly stride?: number;
  /** Zeros added on both ends, or `"same"` (stride 1 only) to keep the length; default 0. */
  readonly padding?: number | "same";
  /** Spacing between kernel taps; default 1. */
  readonly dilation?: number;
  /** Channel groups; must divide the input channels and `filters`; default 1. */
  readonly groups?: number;
  /** Add a learned per-channel bias; default true. */
  readonly bias?: boolean;
}

/** `Conv1dOptions` with every default filled in. */
export interface ResolvedConv1dOptions {
  readonly filters: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly dilation: number;
  readonly groups: number;
  readonly bias: boolean;
}

const KEYS = ["filters", "kernelSize", "stride", "padding", "dilation", "groups", "bias"] as const;

/**
 * Checks `conv1d` options and fills in the defaults, which are written here only:
 * `stride = 1`, `padding = 0`, `dilation = 1`, `groups = 1`, `bias = true`; `padding: "same"` becomes
 * `dilation·(kernelSize − 1)/2`.
 *
 * @param options The options.
 * @returns The resolved options.
 * @throws {RangeError} Naming the option, if one is unknown or out of range, `groups` does not divide
 *   `filters`, or `"same"` padding is asked with a stride other than 1 or would be asymmetric.
 * @example "same" padding of a dilated kernel
 * ```ts
 * import { resolveConv1dOptions } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.equal(resolveConv1dOptions({ filters: 2, kernelSize: 5, dilation: 3, padding: "same" }).padding, 6);
 * ```
 */
export function resolveConv1dOptions(options: Conv1dOptions): ResolvedConv1dOptions {
  const layer = "conv1d";
  checkKeys(layer, options, KEYS);
  const filters = intOption(layer, "filters", options.filters, 1);
  const kernelSize = intOption(layer, "kernelSize", options.kernelSize, 1);
  const stride = intOption(layer, "stride", options.stride ?? 1, 1);
  const dilation = intOption(layer, "dilation", options.dilation ?? 1, 1);
  const padding = options.padding === "same"
    ? samePadding(layer, [1, kernelSize], [1, stride], [1, dilation])[1]
    : intOption(layer, "padding", options.padding ?? 0, 0);
  const groups = intOption(layer, "groups", options.groups ?? 1, 1);
  if (filters % groups !== 0) {
    throw new RangeError(`Cannot create conv1d with groups ${groups}: it does not divide filters ${filters}`);
  }
  const bias = boolOption(layer, "bias", options.bias ?? true);
  return { filters, kernelSize, stride, padding, dilation, groups, bias };
}

/**
 * A 1-D convolution layer; see {@linkcode conv1d}.
 *
 * @example Parameters exist once built
 * ```ts
 * import { Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import { Conv1d } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const layer = new Conv1d({ filters: 4, kernelSize: 5 });
 * layer.build([1, 2, 16], { device, rng: new Rng(1) });
 * assert.deepEqual(layer.parameters().get("weight")!.shape, [4, 2, 5]);
 * ```
 */
export class Conv1d implements Layer<Conv1dOptions> {
  /** Registry key. */
  readonly type: string = "conv1d";
  /** The options as given (JSON). */
  readonly options: Readonly<Conv1dOptions>;
  /** The options with defaults filled in. */
  readonly resolved: ResolvedConv1dOptions;
  readonly #params: ConvParameters;

  /**
   * Creates the layer; prefer {@linkcode conv1d}.
   *
   * @param options The options.
   * @throws {RangeError} As {@linkcode resolveConv1dOptions}.
   */
  constructor(options: Conv1dOptions) {
    this.resolved = resolveConv1dOptions(options);
    this.#params = new ConvParameters(this.type);
    this.options = Object.freeze({ ...options });
  }

  /**
   * Computes the output shape.
   *
   * @param input `[batch, channels, length]`.
   * @returns `[batch, filters, outLength]`.
   * @throws {TypeError} If the input is not 3-D or too short for the kernel.
   * @throws {RangeError} If `groups` does not divide the input channels.
   */
  outputShape(input: Shape | readonly Shape[]): Shape {
    const s = singleShape(input, this.type);
    if (s.length !== 3) {
      throw new TypeError(`Cannot apply conv1d to input [${s}]: it must be [batch, channels, length]`);
    }
    const { filters, kernelSize, stride, padding, dilation, groups } = this.resolved;
    if (s[1] % groups !== 0) {
      throw new RangeError(
        `Cannot apply conv1d with groups ${groups} to input [${s}]: ${
          s[1]
        } channels do not split into ${groups} groups`,
      );
    }
    const ol = outSize(s[2], kernelSize, stride, padding, dilation);
    if (ol < 1) {
      throw new TypeError(
        `Cannot apply conv1d to input [${s}]: a kernel of ${kernelSize} with stride ${stride}, padding ${padding} and dilation ${dilation} gives an output of length ${ol}; use a longer input or more padding`,
      );
    }
    return [s[0], filters, ol];
  }

  /**
   * Creates `weight` `[filters, channels/groups, kernelSize]`, He-normal with std `sqrt(2 / fanIn)`
   * where `fanIn = channels/groups·kernelSize`, and `bias` `[filters]` of zeros; keeps them if built.
   *
   * @param input The input shape.
   * @param ctx The device and the RNG.
   * @throws {TypeError} If the input does not fit, or the layer was built for other channels.
   */
  build(input: Shape | readonly Shape[], ctx: BuildContext): void {
    const s = singleShape(input, this.type);
    this.outputShape(s);
    const { filters, kernelSize, groups, bias } = this.resolved;
    this.#params.build(s, { filters, groups, kernel: [kernelSize], bias }, ctx);
  }

  /**
   * Convolves `x`, building the parameters first (on `x`'s device, from `ctx.rng`) if needed.
   *
   * @param x `[batch, channels, length]`.
   * @param ctx Training flag and RNG.
   * @returns `[batch, filters, outLength]`.
   * @throws {TypeError} If `x` does not fit.
   */
  forward(x: Tensor | readonly Tensor[], ctx: ForwardContext): Tensor {
    const t = single(x, this.type);
    this.build(t.shape, { device: t.device, rng: ctx.rng });
    return this.forwardWith(t, this.#params.weight!, this.#params.bias);
  }

  /**
   * The layer's computation with explicit parameters (for gradient checks and functional use): a
   * `conv2d` of height 1, with the bias in the same `conv2dBias` op where the backend has a kernel.
   *
   * @param x `[batch, channels, length]`.
   * @param weight `[filters, channels/groups, kernelSize]`.
   * @param bias `[filters]`, or undefined for none.
   * @returns `[batch, filters, outLength]`.
   * @throws {TypeError} If a shape does not fit.
   */
  forwardWith(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
    const [n, filters, ol] = this.outputShape(x.shape);
    const { stride, padding, dilation, groups } = this.resolved;
    const x2 = ops.reshape(x, [n, x.shape[1], 1, x.shape[2]]);
    const w2 = ops.reshape(weight, [weight.shape[0], weight.shape[1], 1, weight.shape[2]]);
    const attrs = { stride: [1, stride], padding: [0, padding], dilation: [1, dilation], groups } as const;
    if (bias && x.device.registry.hasKernel("conv2dBias", x.device.name)) {
      return ops.reshape(conv2dBiasOp(x2, w2, bias, attrs), [n, filters, ol]);
    }
    const y = ops.reshape(conv2dOp(x2, w2, attrs), [n, filters, ol]);
    return bias ? ops.add(y, ops.reshape(bias, [1, filters, 1])) : y;
  }

  /** `weight` and (unless `bias: false`) `bias`, once built. */
  parameters(): ReadonlyMap<string, Tensor> {
    return this.#params.map();
  }

  /**
   * Counts `2·n·filters·outLength·(channels/groups)·kernelSize`, plus `n·filters·outLength` for the bias.
   *
   * @param input The input shape.
   * @returns FLOPs of one forward pass.
   */
  flops(input: Shape | readonly Shape[]): number {
    const s = singleShape(input, this.type);
    const [n, filters, ol] = this.outputShape(s);
    const { kernelSize, groups, bias } = this.resolved;
    return 2 * n * filters * ol * (s[1] / groups) * kernelSize + (bias ? n * filters * ol : 0);
  }
}

/**
 * Creates a 1-D convolution layer: `[batch, channels, length]` → `[batch, filters, outLength]`, with
 * `outLength = ⌊(length + 2·padding − dilation·(kernelSize − 1) − 1)/stride⌋ + 1`. Parameters:
 * `weight` `[filters, channels/groups, kernelSize]` (He-normal) and `bias` `[filters]` (zeros).
 *
 * @param options Hyperparameters; defaults are documented on {@linkcode resolveConv1dOptions}.
 * @returns A layer whose weights are created by `build` (or on first `forward`) from the seeded RNG.
 * @throws {RangeError} If an option is unknown or out of range, or `groups` does not divide `filters`.
 * @example A dilated kernel of 3 over 20 samples
 * ```ts
 * import { conv1d } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.deepEqual(conv1d({ filters: 4, kernelSize: 3, dilation: 4 }).outputShape([2, 1, 20]), [2, 4, 12]);
 * ```
 */
export function conv1d(options: Conv1dOptions): Conv1d {
  return new Conv1d(options);
}
