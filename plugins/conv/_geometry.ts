/**
 * Convolution attributes and geometry: defaults, validation and output sizes, shared by the three
 * conv ops, their kernels and the layers. Private to `@cnnlab/conv`.
 * @module
 */
import type { Shape } from "@cnnlab/core";

/** A pair of per-axis values, height first. */
export type Pair = readonly [number, number];

/** Attributes of `conv2d` (and of its two backprop ops), fully resolved. */
export interface Conv2dAttrs {
  /** Step between output positions, `[sh, sw]`. */
  readonly stride: Pair;
  /** Zeros added on both sides, `[ph, pw]`. */
  readonly padding: Pair;
  /** Spacing between kernel taps, `[dh, dw]`. */
  readonly dilation: Pair;
  /** Channel groups; input and output channels split into this many independent convolutions. */
  readonly groups: number;
}

/** Attributes of `conv2dBias`: conv2d's, and whether a ReLU follows the bias. */
export interface Conv2dBiasAttrs extends Conv2dAttrs {
  /** Whether the output is `relu(conv2d(x, w) + bias)` (`v > 0 ? v : 0`, as the `relu` op); default false. */
  readonly relu?: boolean;
}

/** What callers may pass: every field optional, pairs may be given as one number. */
export interface Conv2dAttrsInput {
  /** Stride, default 1. */
  readonly stride?: number | Pair;
  /** Zero padding, default 0. */
  readonly padding?: number | Pair;
  /** Dilation, default 1. */
  readonly dilation?: number | Pair;
  /** Groups, default 1. */
  readonly groups?: number;
}

/**
 * Resolves conv attributes; the defaults are written here only: stride 1, padding 0, dilation 1, groups 1.
 *
 * @param attrs Partial attributes.
 * @returns Resolved attributes with pairs.
 */
export function resolveConv2dAttrs(attrs: Conv2dAttrsInput = {}): Conv2dAttrs {
  return {
    stride: pair(attrs.stride ?? 1),
    padding: pair(attrs.padding ?? 0),
    dilation: pair(attrs.dilation ?? 1),
    groups: attrs.groups ?? 1,
  };
}

/** Expands a number to a pair; copies a pair. */
export function pair(v: number | Pair): Pair {
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

/** Output length of one axis: floor((i + 2p − d·(k − 1) − 1)/s) + 1. */
export function outSize(i: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((i + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** Every size a conv kernel needs, derived once from the input and filter shapes. */
export interface ConvGeometry {
  readonly n: number;
  readonly cIn: number;
  readonly h: number;
  readonly w: number;
  readonly cOut: number;
  readonly kh: number;
  readonly kw: number;
  readonly oh: number;
  readonly ow: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
  readonly groups: number;
  /** Input channels per group. */
  readonly cg: number;
  /** Output channels per group. */
  readonly og: number;
}

/**
 * Checks attribute values.
 *
 * @param op The op name, for messages.
 * @param attrs The attributes.
 * @throws {RangeError} If stride, dilation or groups is not a positive integer, or padding is negative.
 */
export function checkAttrs(op: string, attrs: Conv2dAttrs): void {
  const bad = (v: unknown, min: number) =>
    !Array.isArray(v) || v.length !== 2 || v.some((d) => !Number.isInteger(d) || d < min);
  for (const [key, min] of [["stride", 1], ["dilation", 1], ["padding", 0]] as const) {
    if (bad(attrs[key], min)) {
      throw new RangeError(
        `Cannot apply ${op} with ${key} ${
          JSON.stringify(attrs[key])
        }: it must be a pair of integers ≥ ${min}`,
      );
    }
  }
  if (!Number.isInteger(attrs.groups) || attrs.groups < 1) {
    throw new RangeError(`Cannot apply ${op} with groups ${attrs.groups}: it must be a positive integer`);
  }
}

/**
 * Derives and checks the geometry of a convolution of `x` by `w`.
 *
 * @param op The op name, for messages.
 * @param x Input shape `[n, cIn, h, w]`.
 * @param w Filter shape `[cOut, cIn/groups, kh, kw]`.
 * @param attrs The attributes.
 * @returns The geometry.
 * @throws {TypeError} If ranks or channels disagree or the output would be empty.
 * @throws {RangeError} If an attribute is out of range.
 */
export function convGeometry(op: string, x: Shape, w: Shape, attrs: Conv2dAttrs): ConvGeometry {
  checkAttrs(op, attrs);
  const at = `Cannot apply ${op} to input [${x}] and filter [${w}]`;
  if (x.length !== 4 || w.length !== 4) {
    throw new TypeError(
      `${at}: input must be [batch, channels, height, width] and filter [out, in/groups, kh, kw]`,
    );
  }
  const [n, cIn, h, wd] = x, [cOut, cg, kh, kw] = w;
  const { groups } = attrs;
  if (cIn % groups !== 0 || cOut % groups !== 0) {
    throw new TypeError(
      `${at}: input channels ${cIn} and output channels ${cOut} must be divisible by groups ${groups}`,
    );
  }
  if (cg * groups !== cIn) {
    throw new TypeError(
      `${at}: the filter expects ${cg * groups} input channels (${cg} per group × ${groups} groups)`,
    );
  }
  const [sh, sw] = attrs.stride, [ph, pw] = attrs.padding, [dh, dw] = attrs.dilation;
  const oh = outSize(h, kh, sh, ph, dh), ow = outSize(wd, kw, sw, pw, dw);
  if (oh < 1 || ow < 1 || kh < 1 || kw < 1) {
    throw new TypeError(
      `${at}: the output would be ${oh}×${ow} with stride [${attrs.stride}], padding [${attrs.padding}] and dilation [${attrs.dilation}]; use a larger input or more padding`,
    );
  }
  return { n, cIn, h, w: wd, cOut, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw, groups, cg, og: cOut / groups };
}
