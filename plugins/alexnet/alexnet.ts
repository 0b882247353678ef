/**
 * The AlexNet model spec (Krizhevsky, Sutskever and Hinton, 2012), single-tower or split over two
 * "devices" as in the paper.
 *
 * Local response normalisation is left out: it is not a registered layer, later work found it adds
 * little, and the common single-tower form ("one weird trick", Krizhevsky 2014) drops it too. The
 * layer widths follow the paper (96, 256, 384, 384, 256; 4096, 4096), not torchvision's 64-wide
 * variant.
 * @module
 */
import type { LayerSpec, ModelSpec } from "@cnnlab/core";

/** Options of `alexnet`; each default is set in `resolveAlexnetOptions` and only there. */
export interface AlexnetOptions {
  /** Per-example input shape `[channels, height, width]`; default `[3, 227, 227]`. */
  readonly input?: readonly number[];
  /** Number of classes; default 1000. */
  readonly classes?: number;
  /** Use the paper's two-device split (grouped conv2, conv4, conv5); default false. */
  readonly split?: boolean;
  /** Dropout rate after each of the two hidden dense layers (training only); default 0.5. */
  readonly dropout?: number;
}

/** `AlexnetOptions` with every default filled in. */
export interface ResolvedAlexnetOptions {
  /** Per-example input shape. */
  readonly input: readonly number[];
  /** Number of classes. */
  readonly classes: number;
  /** Whether the two-device split is used. */
  readonly split: boolean;
  /** Dropout rate. */
  readonly dropout: number;
}

const KEYS = new Set(["input", "classes", "split", "dropout"]);

/**
 * Checks `alexnet` options and fills in the defaults, which are written here only:
 * `input = [3, 227, 227]`, `classes = 1000`, `split = false`, `dropout = 0.5`.
 *
 * @param options The options.
 * @returns The resolved options.
 * @throws {RangeError} Naming the option, if one is unknown, `classes` is not a positive integer,
 *   `input` is not three positive integers, `split` is not a boolean or `dropout` is not in [0, 1).
 * @example Defaults
 * ```ts
 * import { resolveAlexnetOptions } from "@cnnlab/alexnet";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resolveAlexnetOptions({}), { input: [3, 227, 227], classes: 1000, split: false, dropout: 0.5 });
 * assert.throws(() => resolveAlexnetOptions({ classes: 0 }), RangeError);
 * ```
 */
export function resolveAlexnetOptions(options: AlexnetOptions): ResolvedAlexnetOptions {
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) {
      throw new RangeError(
        `Cannot build alexnet with option "${key}": it is unknown; use ${[...KEYS].join(", ")}`,
      );
    }
  }
  const input = options.input ?? [3, 227, 227];
  if (!Array.isArray(input) || input.length !== 3 || !input.every((d) => Number.isInteger(d) && d > 0)) {
    throw new RangeError(
      `Cannot build alexnet with input [${input}]: it must be [channels, height, width] of positive integers`,
    );
  }
  const classes = options.classes ?? 1000;
  if (!Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`Cannot build alexnet with classes ${classes}: it must be a positive integer`);
  }
  const split = options.split ?? false;
  if (typeof split !== "boolean") {
    throw new RangeError(`Cannot build alexnet with split ${split}: it must be true or false`);
  }
  const dropout = options.dropout ?? 0.5;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
    throw new RangeError(`Cannot build alexnet with dropout ${dropout}: it must be a number in [0, 1)`);
  }
  return { input: [...input], classes, split, dropout };
}

/**
 * AlexNet: conv 96@11×11 stride 4 → relu → max-pool 3/2 → conv 256@5×5 pad 2 → relu → pool →
 * conv 384@3×3 pad 1 → relu → conv 384@3×3 → relu → conv 256@3×3 → relu → pool → flatten (9216 for a
 * 227² input) → dense 4096 → relu → dropout → dense 4096 → relu → dropout → dense `classes`. Every
 * 3×3 convolution pads by 1; every pooling is a 3×3 max-pool with stride 2 (overlapping, as in the paper).
 *
 * The single-tower form (the default) has 62,378,344 parameters for 1000 classes and costs about
 * 2.27 GFLOP (2 × multiply-adds) per 227² image. With `split: true` it is the paper's two-GPU net:
 * conv2, conv4 and conv5 see only their own half of the channels (`groups: 2`), conv3 and the dense
 * layers see both halves; that form has 60,965,224 parameters. Local response normalisation is
 * omitted (see the module doc).
 *
 * @param options Input shape, classes, split and dropout rate; see `resolveAlexnetOptions`.
 * @returns The model spec.
 * @throws {RangeError} If an option is unknown or out of range.
 * @example The paper's split form groups three convolutions
 * ```ts
 * import { alexnet } from "@cnnlab/alexnet";
 * import assert from "node:assert/strict";
 * const spec = alexnet({ split: true, classes: 10 });
 * assert.deepEqual(spec.layers.filter((l) => l.groups === 2).map((l) => l.name), ["conv2", "conv4", "conv5"]);
 * assert.deepEqual(spec.layers.at(-1), { type: "dense", name: "fc8", units: 10 });
 * ```
 */
export function alexnet(options: AlexnetOptions = {}): ModelSpec {
  const o = resolveAlexnetOptions(options);
  const groups = o.split ? { groups: 2 } : {};
  const relu = (name: string): LayerSpec => ({ type: "relu", name });
  const pool = (name: string): LayerSpec => ({ type: "maxPool2d", name, poolSize: 3, stride: 2 });
  const drop = (name: string): LayerSpec => ({ type: "dropout", name, rate: o.dropout });
  return {
    name: o.split ? "alexnet-split" : "alexnet",
    input: o.input,
    layers: [
      { type: "conv2d", name: "conv1", filters: 96, kernelSize: 11, stride: 4 },
      relu("relu1"),
      pool("pool1"),
      { type: "conv2d", name: "conv2", filters: 256, kernelSize: 5, padding: 2, ...groups },
      relu("relu2"),
      pool("pool2"),
      { type: "conv2d", name: "conv3", filters: 384, kernelSize: 3, padding: 1 },
      relu("relu3"),
      { type: "conv2d", name: "conv4", filters: 384, kernelSize: 3, padding: 1, ...groups },
      relu("relu4"),
      { type: "conv2d", name: "conv5", filters: 256, kernelSize: 3, padding: 1, ...groups },
      relu("relu5"),
      pool("pool5"),
      { type: "flatten", name: "flatten" },
      { type: "dense", name: "fc6", units: 4096 },
      relu("relu6"),
      drop("drop6"),
      { type: "dense", name: "fc7", units: 4096 },
      relu("relu7"),
      drop("drop7"),
      { type: "dense", name: "fc8", units: o.classes },
    ],
  };
}
