/**
 * The LeNet-5 model spec (LeCun et al., 1998, in its common modern form).
 * @module
 */
import type { LayerSpec, ModelSpec } from "@cnnlab/core";

/** Options of `lenet5`; each default is set here and only here. */
export interface Lenet5Options {
  /** Per-example input shape; default `[1, 28, 28]`. */
  readonly input?: readonly number[];
  /** Number of classes; default 10. */
  readonly classes?: number;
  /** Activation layer type; default `"relu"`. */
  readonly activation?: string;
  /** Options for the activation layer (e.g. `{ "pieces": 2 }` for maxout); default `{}`. */
  readonly activationOptions?: Readonly<Record<string, unknown>>;
  /** Pooling layer type; default `"maxPool2d"`. */
  readonly pooling?: string;
  /** Options for the pooling layer besides its 2×2 window (e.g. `{ "p": 2 }` for lpPool2d). */
  readonly poolingOptions?: Readonly<Record<string, unknown>>;
}

function resolve(options: Lenet5Options) {
  const activation = options.activation ?? "relu";
  const pooling = options.pooling ?? "maxPool2d";
  const poolingOptions = { ...(pooling === "lpPool2d" ? { p: 2 } : {}), ...options.poolingOptions };
  const activationOptions = {
    ...(activation === "maxout" ? { pieces: 2 } : {}),
    ...options.activationOptions,
  };
  // Maxout divides channels by its piece count, so layers before it widen to keep LeNet-5's widths.
  const widen = activation === "maxout" ? Number(activationOptions.pieces) : 1;
  if (!Number.isInteger(widen) || widen < 1) {
    throw new RangeError(`Cannot build lenet5: maxout "pieces" must be a positive integer, got ${widen}`);
  }
  return {
    input: options.input ?? [1, 28, 28],
    classes: options.classes ?? 10,
    activation,
    activationOptions,
    pooling,
    poolingOptions,
    widen,
  };
}

/**
 * LeNet-5: conv 6@5×5 (padding 2) → pool 2×2 → conv 16@5×5 → pool 2×2 → flatten (400) → dense 120 → 84 → classes,
 * with the activation after each conv and hidden dense layer, and activation and pooling chosen by options.
 *
 * @param options Input shape, classes, activation and pooling choices.
 * @returns The model spec.
 * @throws {RangeError} If maxout's piece count is not a positive integer.
 * @example Swap in Lp pooling
 * ```ts
 * import { lenet5 } from "@cnnlab/lenet5";
 * import assert from "node:assert/strict";
 * const spec = lenet5({ pooling: "lpPool2d" });
 * assert.equal(spec.layers.filter((l) => l.type === "lpPool2d").length, 2);
 * ```
 */
export function lenet5(options: Lenet5Options = {}): ModelSpec {
  const o = resolve(options);
  const act = (name: string): LayerSpec => ({ type: o.activation, name, ...o.activationOptions });
  const pool = (name: string): LayerSpec => ({ type: o.pooling, name, poolSize: 2, ...o.poolingOptions });
  return {
    name: "lenet5",
    input: o.input,
    layers: [
      { type: "conv2d", name: "conv1", filters: 6 * o.widen, kernelSize: 5, padding: 2 },
      act("act1"),
      pool("pool1"),
      { type: "conv2d", name: "conv2", filters: 16 * o.widen, kernelSize: 5 },
      act("act2"),
      pool("pool2"),
      { type: "flatten", name: "flatten" },
      { type: "dense", name: "fc1", units: 120 * o.widen },
      act("act3"),
      { type: "dense", name: "fc2", units: 84 * o.widen },
      act("act4"),
      { type: "dense", name: "fc3", units: o.classes },
    ],
  };
}

/** Options of `lenet5Embed`: those of `lenet5` (but `classes`) plus the embedding width. */
export interface Lenet5EmbedOptions extends Omit<Lenet5Options, "classes"> {
  /** Width of the embedding (the last dense layer); default 32. */
  readonly embeddingDim?: number;
}

/**
 * LeNet-5 as an embedding network for metric learning: the same layers, with the last dense layer
 * (named `embedding`) giving `embeddingDim` values instead of class scores. Train it with a
 * metric-learning loss (contrastive, triplet, histogram, lda).
 *
 * @param options LeNet-5 options and the embedding width (default 32).
 * @returns The model spec.
 * @throws {RangeError} If `embeddingDim` is not a positive integer.
 * @example A 16-dimensional embedding
 * ```ts
 * import { lenet5Embed } from "@cnnlab/lenet5";
 * import assert from "node:assert/strict";
 * const spec = lenet5Embed({ embeddingDim: 16 });
 * assert.deepEqual(spec.layers.at(-1), { type: "dense", name: "embedding", units: 16 });
 * ```
 */
export function lenet5Embed(options: Lenet5EmbedOptions = {}): ModelSpec {
  const { embeddingDim = 32, ...rest } = options as Lenet5EmbedOptions & { classes?: number };
  if (!Number.isInteger(embeddingDim) || embeddingDim < 1) {
    throw new RangeError(
      `Cannot build lenet5-embed: embeddingDim must be a positive integer, got ${embeddingDim}`,
    );
  }
  const base = lenet5({ ...rest, classes: embeddingDim });
  return {
    ...base,
    name: "lenet5-embed",
    layers: [...base.layers.slice(0, -1), { type: "dense", name: "embedding", units: embeddingDim }],
  };
}
