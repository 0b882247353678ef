/**
 * The `conv2d` layer: a grouped, dilated, strided 2-D convolution with an optional per-channel bias.
 * @module
 */
import {
  type BuildContext,
  type ForwardContext,
  type FusedForward,
  type Layer,
  ops,
  type Shape,
  single,
  singleShape,
  type Tensor,
} from "@cnnlab/core";
import { ConvParameters } from "./_parameters.ts";
import { type Conv2dAttrs, outSize, type Pair } from "./_geometry.ts";
import { boolOption, checkKeys, intOption, pairOption, samePadding } from "./_options.ts";
import { conv2d as conv2dOp, conv2dBias as conv2dBiasOp } from "./conv2d_op.ts";

/** Options of the `conv2d` layer, as written in a model spec. */
export interface Conv2dOptions {
  /** Output channels. */
  readonly filters: number;
  /** Kernel height and width (one number for a square kernel). */
  readonly kernelSize: number | Pair;
  /** Step between output positions; default 1. */
  readonly stride?: number | Pair;
  /** Zeros added on both sides, or `"same"` (stride 1 only) to keep the size; default 0. */
  readonly padding?: number | Pair | "same";
  /** Spacing between kernel taps; default 1. */
  readonly dilation?: number | Pair;
  /** Channel groups; must divide the input channels and `filters`; default 1. */
  readonly groups?: number;
  /** Add a learned per-channel bias; default true. */
  readonly bias?: boolean;
}

/** `Conv2dOptions` with every default filled in and every pair expanded. */
export interface ResolvedConv2dOptions extends Conv2dAttrs {
  /** Output channels. */
  readonly filters: number;
  /** `[kh, kw]`. */
  readonly kernelSize: Pair;
  /** Whether a bias is added. */
  readonly bias: boolean;
}

const KEYS = ["filters", "kernelSize", "stride", "padding", "dilation", "groups", "bias"] as const;

/**
 * Checks `conv2d` options and fills in the defaults, which are written here only:
 * `stride = 1`, `padding = 0`, `dilation = 1`, `groups = 1`, `bias = true`. `padding: "same"` becomes
 * `dilation·(kernelSize − 1)/2` per axis.
 *
 * @param options The options.
 * @returns The resolved options.
 * @throws {RangeError} Naming the option, if one is unknown or out of range, `groups` does not divide
 *   `filters`, or `"same"` padding is asked with a stride other than 1 or would be asymmetric.
 * @example Defaults and "same" padding
 * ```ts
 * import { resolveConv2dOptions } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const r = resolveConv2dOptions({ filters: 4, kernelSize: 3, padding: "same", dilation: 2 });
 * assert.deepEqual([r.padding, r.stride, r.groups, r.bias], [[2, 2], [1, 1], 1, true]);
 * ```
 */
export function resolveConv2dOptions(options: Conv2dOptions): ResolvedConv2dOptions {
  const layer = "conv2d";
  checkKeys(layer, options, KEYS);
  const filters = intOption(layer, "filters", options.filters, 1);
  const kernelSize = pairOption(layer, "kernelSize", options.kernelSize, 1);
  const stride = pairOption(layer, "stride", options.stride ?? 1, 1);
  const dilation = pairOption(layer, "dilation", options.dilation ?? 1, 1);
  const padding = options.padding === "same"
    ? samePadding(layer, kernelSize, stride, dilation)
    : pairOption(layer, "padding", options.padding ?? 0, 0);
  const groups = intOption(layer, "groups", options.groups ?? 1, 1);
  if (filters % groups !== 0) {
    throw new RangeError(`Cannot create conv2d with groups ${groups}: it does not divide filters ${filters}`);
  }
  const bias = boolOption(layer, "bias", options.bias ?? true);
  return { filters, kernelSize, stride, padding, dilation, groups, bias };
}

/**
 * A 2-D convolution layer; see {@linkcode conv2d}.
 *
 * @example Parameters exist once built
 * ```ts
 * import { Registry, Rng } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import { Conv2d } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const layer = new Conv2d({ filters: 4, kernelSize: 3, groups: 2 });
 * layer.build([1, 6, 8, 8], { device, rng: new Rng(1) });
 * assert.deepEqual(layer.parameters().get("weight")!.shape, [4, 3, 3, 3]);
 * ```
 */
export class Conv2d implements Layer<Conv2dOptions> {
  /** Registry key. */
  readonly type: string = "conv2d";
  /** The options as given (JSON). */
  readonly options: Readonly<Conv2dOptions>;
  /** The options with defaults filled in. */
  readonly resolved: ResolvedConv2dOptions;
  readonly #params: ConvParameters;

  /**
   * Creates the layer; prefer {@linkcode conv2d}.
   *
   * @param options The options.
   * @throws {RangeError} As {@linkcode resolveConv2dOptions}.
   */
  constructor(options: Conv2dOptions) {
    this.resolved = resolveConv2dOptions(options);
    this.#params = new ConvParameters(this.type);
    this.options = Object.freeze({ ...options });
  }

  /**
   * Computes the output shape.
   *
   * @param input `[batch, channels, height, width]`.
   * @returns `[batch, filters, outHeight, outWidth]`.
   * @throws {TypeError} If the input is not 4-D or too small for the kernel.
   * @throws {RangeError} If `groups` does not divide the input channels.
   */
  outputShape(input: Shape | readonly Shape[]): Shape {
    const s = singleShape(input, this.type);
    if (s.length !== 4) {
      throw new TypeError(`Cannot apply conv2d to input [${s}]: it must be [batch, channels, height, width]`);
    }
    const { filters, kernelSize: [kh, kw], stride, padding, dilation, groups } = this.resolved;
    if (s[1] % groups !== 0) {
      throw new RangeError(
        `Cannot apply conv2d with groups ${groups} to input [${s}]: ${
          s[1]
        } channels do not split into ${groups} groups`,
      );
    }
    const oh = outSize(s[2], kh, stride[0], padding[0], dilation[0]);
    const ow = outSize(s[3], kw, stride[1], padding[1], dilation[1]);
    if (oh < 1 || ow < 1) {
      throw new TypeError(
        `Cannot apply conv2d to input [${s}]: a ${kh}×${kw} kernel with stride [${stride}], padding [${padding}] and dilation [${dilation}] gives an output of ${oh}×${ow}; use a larger input or more padding`,
      );
    }
    return [s[0], filters, oh, ow];
  }

  /**
   * Creates `weight` `[filters, channels/groups, kh, kw]`, He-normal with std `sqrt(2 / fanIn)` where
   * `fanIn = channels/groups·kh·kw`, and `bias` `[filters]` of zeros; keeps them if already built.
   *
   * @param input The input shape.
   * @param ctx The device and the RNG.
   * @throws {TypeError} If the input does not fit, or the layer was built for other channels.
   */
  build(input: Shape | readonly Shape[], ctx: BuildContext): void {
    const s = singleShape(input, this.type);
    this.outputShape(s);
    const { filters, kernelSize: [kh, kw], groups, bias } = this.resolved;
    this.#params.build(s, { filters, groups, kernel: [kh, kw], bias }, ctx);
  }

  /**
   * Convolves `x`, building the parameters first (on `x`'s device, from `ctx.rng`) if needed.
   *
   * @param x `[batch, channels, height, width]`.
   * @param ctx Training flag and RNG.
   * @returns `[batch, filters, outHeight, outWidth]`.
   * @throws {TypeError} If `x` does not fit.
   */
  forward(x: Tensor | readonly Tensor[], ctx: ForwardContext): Tensor {
    const t = single(x, this.type);
    this.build(t.shape, { device: t.device, rng: ctx.rng });
    return this.forwardWith(t, this.#params.weight!, this.#params.bias);
  }

  /**
   * The layer's computation with explicit parameters (for gradient checks and functional use):
   * `conv2d(x, weight) + reshape(bias, [1, filters, 1, 1])`, as one `conv2dBias` op where the
   * backend has a kernel for it.
   *
   * @param x `[batch, channels, height, width]`.
   * @param weight `[filters, channels/groups, kh, kw]`.
   * @param bias `[filters]`, or undefined for none.
   * @returns `[batch, filters, outHeight, outWidth]`.
   * @throws {TypeError} If a shape does not fit.
   */
  forwardWith(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
    this.outputShape(x.shape);
    const { stride, padding, dilation, groups, filters } = this.resolved;
    const attrs = { stride, padding, dilation, groups };
    if (!bias) return conv2dOp(x, weight, attrs);
    if (x.device.registry.hasKernel("conv2dBias", x.device.name)) return conv2dBiasOp(x, weight, bias, attrs);
    return ops.add(conv2dOp(x, weight, attrs), ops.reshape(bias, [1, filters, 1, 1]));
  }

  /**
   * Fuses a following `relu` layer: one `conv2dBias` op with its `relu` attribute, which clamps the
   * outputs as it stores them (the CPU row convolution in registers), where the layer has a bias and
   * the backend a `conv2dBias` kernel; the two forwards in turn otherwise. Other layers do not fuse.
   *
   * @param next The layer that alone reads this one's output.
   * @returns The fused forward pass, or undefined.
   * @example LeNet-5's conv1 and act1
   * ```ts
   * import { conv2d } from "@cnnlab/conv";
   * import { relu } from "@cnnlab/activations";
   * import assert from "node:assert/strict";
   * const conv = conv2d({ filters: 6, kernelSize: 5, padding: 2 });
   * assert.equal(typeof conv.fuseWith(relu()), "function");
   * assert.equal(conv2d({ filters: 6, kernelSize: 5, bias: false }).fuseWith(relu()), undefined);
   * ```
   */
  fuseWith(next: Layer): FusedForward | undefined {
    if (next.type !== "relu" || !this.resolved.bias) return undefined;
    return (x, ctx) => {
      const t = single(x, this.type);
      this.build(t.shape, { device: t.device, rng: ctx.rng });
      if (!t.device.registry.hasKernel("conv2dBias", t.device.name)) {
        return next.forward(this.forward(t, ctx), ctx);
      }
      this.outputShape(t.shape);
      const { stride, padding, dilation, groups } = this.resolved;
      const attrs = { stride, padding, dilation, groups, relu: true };
      return conv2dBiasOp(t, this.#params.weight!, this.#params.bias!, attrs);
    };
  }

  /** `weight` and (unless `bias: false`) `bias`, once built. */
  parameters(): ReadonlyMap<string, Tensor> {
    return this.#params.map();
  }

  /**
   * Counts `2·n·filters·oh·ow·(channels/groups)·kh·kw`, plus `n·filters·oh·ow` for the bias.
   *
   * @param input The input shape.
   * @returns FLOPs of one forward pass.
   */
  flops(input: Shape | readonly Shape[]): number {
    const s = singleShape(input, this.type);
    const [n, filters, oh, ow] = this.outputShape(s);
    const { kernelSize: [kh, kw], groups, bias } = this.resolved;
    const outputs = n * filters * oh * ow;
    return 2 * outputs * (s[1] / groups) * kh * kw + (bias ? outputs : 0);
  }
}

/**
 * Creates a 2-D convolution layer: `[batch, channels, h, w]` → `[batch, filters, outH, outW]`, with
 * `out = ⌊(in + 2·padding − dilation·(kernelSize − 1) − 1)/stride⌋ + 1`. Parameters: `weight`
 * `[filters, channels/groups, kh, kw]` (PyTorch OIHW layout, He-normal) and `bias` `[filters]` (zeros).
 *
 * @param options Hyperparameters; defaults are documented on {@linkcode resolveConv2dOptions}.
 * @returns A layer whose weights are created by `build` (or on first `forward`) from the seeded RNG.
 * @throws {RangeError} If an option is unknown or out of range, or `groups` does not divide `filters`.
 * @example Receptive field of a dilated kernel
 * ```ts
 * import { conv2d } from "@cnnlab/conv";
 * import assert from "node:assert/strict";
 * assert.deepEqual(conv2d({ filters: 8, kernelSize: 3, dilation: 2 }).outputShape([1, 3, 32, 32]), [1, 8, 28, 28]);
 * ```
 */
export function conv2d(options: Conv2dOptions): Conv2d {
  return new Conv2d(options);
}
