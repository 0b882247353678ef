/**
 * The parameters every convolution layer owns: a He-normal filter and a zero bias, created once on
 * first build and checked against the input's channels on every later one. Private.
 * @module
 */
import type { BuildContext, Shape, Tensor } from "@cnnlab/core";

/** A convolution layer's `weight` `[filters, channels/groups, ...kernel]` and optional `bias` `[filters]`. */
export class ConvParameters {
  /** The filter, once built. */
  weight: Tensor | undefined;
  /** The bias, once built (never, with `bias: false`). */
  bias: Tensor | undefined;
  readonly #layer: string;

  /** @param layer The layer type, for messages. */
  constructor(layer: string) {
    this.#layer = layer;
  }

  /**
   * Creates the parameters (He-normal, std `sqrt(2 / fanIn)` with `fanIn = channels/groups·∏kernel`;
   * bias zeros) unless they exist, in which case the input's channels must match them.
   *
   * @param input The (already checked) input shape, channels at axis 1.
   * @param spec Filters, groups, kernel extents and whether there is a bias.
   * @param ctx The device and the RNG.
   * @throws {TypeError} If the layer was built for another channel count.
   */
  build(
    input: Shape,
    spec: { filters: number; groups: number; kernel: readonly number[]; bias: boolean },
    ctx: BuildContext,
  ): void {
    const cg = input[1] / spec.groups;
    if (this.weight) {
      if (this.weight.shape[1] !== cg) {
        throw new TypeError(
          `Cannot apply ${this.#layer} to input [${input}]: it was built for ${
            this.weight.shape[1] * spec.groups
          } input channels`,
        );
      }
      return;
    }
    const fanIn = cg * spec.kernel.reduce((p, k) => p * k, 1), std = Math.sqrt(2 / fanIn);
    const values = new Float32Array(spec.filters * fanIn);
    for (let i = 0; i < values.length; i++) values[i] = std * ctx.rng.normal();
    this.weight = ctx.device.tensor(values, [spec.filters, cg, ...spec.kernel]);
    this.weight.requiresGrad = true;
    if (spec.bias) {
      this.bias = ctx.device.zeros([spec.filters]);
      this.bias.requiresGrad = true;
    }
  }

  /** `weight` and (if any) `bias`, once built. */
  map(): ReadonlyMap<string, Tensor> {
    const out = new Map<string, Tensor>();
    if (this.weight) out.set("weight", this.weight);
    if (this.bias) out.set("bias", this.bias);
    return out;
  }
}
