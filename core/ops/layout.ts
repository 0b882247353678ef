/**
 * Layout primitives: `reshape`, `transpose`, `broadcastTo`.
 * @module
 */
import { defineOp, type OpDef } from "../op.ts";
import { broadcastShapes, type Shape, shapesEqual, sizeOf, stridesOf } from "../shape.ts";
import { runOp, type Tensor } from "../tensor.ts";
import { broadcastIndex } from "./_broadcast.ts";
import { sumTo } from "./reduce.ts";

/** Attributes of `reshape`. */
export interface ReshapeAttrs {
  /** The new shape; one entry may be −1 (inferred). */
  readonly shape: Shape;
}

/** Resolves a −1 entry and checks the element count. */
export function resolveReshape(from: Shape, to: Shape): number[] {
  const n = sizeOf(from);
  const known = to.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const out = to.map((d) => (d === -1 ? n / known : d));
  if (
    to.filter((d) => d === -1).length > 1 || sizeOf(out) !== n ||
    out.some((d) => !Number.isInteger(d) || d < 0)
  ) {
    throw new TypeError(`Cannot reshape [${from}] to [${to}]: the element counts differ`);
  }
  return out;
}

/** Reshape (a view in spirit; backends may copy). */
export const reshapeOp: OpDef<ReshapeAttrs> = defineOp<ReshapeAttrs>({
  name: "reshape",
  inputs: ["x"],
  outputShape: ([s], { shape }) => resolveReshape(s, shape),
  reference: ([x]) => x.slice(),
  grads: [({ dy, inputs: [x] }) => reshape(dy, x.shape)],
});

/** Attributes of `transpose`. */
export interface TransposeAttrs {
  /** Output axis i is input axis `perm[i]`. */
  readonly perm: readonly number[];
}

/** Axis permutation. */
export const transposeOp: OpDef<TransposeAttrs> = defineOp<TransposeAttrs>({
  name: "transpose",
  inputs: ["x"],
  outputShape([s], { perm }) {
    const sorted = [...perm].sort((a, b) => a - b);
    if (perm.length !== s.length || sorted.some((p, i) => p !== i)) {
      throw new RangeError(
        `Cannot transpose [${s}] with perm [${perm}]: it is not a permutation of its axes`,
      );
    }
    return perm.map((p) => s[p]);
  },
  reference([x], [s], { perm }, out) {
    const inStrides = stridesOf(s);
    const y = new Float32Array(x.length);
    const idx = new Array<number>(out.length).fill(0);
    for (let i = 0; i < y.length; i++) {
      let off = 0;
      for (let d = 0; d < out.length; d++) off += idx[d] * inStrides[perm[d]];
      y[i] = x[off];
      for (let d = out.length - 1; d >= 0; d--) {
        if (++idx[d] < out[d]) break;
        idx[d] = 0;
      }
    }
    return y;
  },
  grads: [({ dy, attrs: { perm } }) => {
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => (inverse[p] = i));
    return transpose(dy, { perm: inverse });
  }],
});

/** Attributes of `broadcastTo`. */
export interface BroadcastToAttrs {
  /** The target shape. */
  readonly shape: Shape;
}

/** Repeats size-1 (or missing leading) axes up to a shape. */
export const broadcastToOp: OpDef<BroadcastToAttrs> = defineOp<BroadcastToAttrs>({
  name: "broadcastTo",
  inputs: ["x"],
  outputShape([s], { shape }) {
    const out = broadcastShapes(s, shape);
    if (!shapesEqual(out, shape)) throw new TypeError(`Cannot broadcast [${s}] to [${shape}]`);
    return out;
  },
  reference([x], [s], _a, out) {
    const idx = broadcastIndex(s, out);
    const y = new Float32Array(idx.length);
    for (let i = 0; i < y.length; i++) y[i] = x[idx[i]];
    return y;
  },
  grads: [({ dy, inputs: [x] }) => sumTo(dy, x.shape)],
});

/** Reshapes. @param x Input. @param shape New shape (one −1 allowed). @returns The reshaped tensor. */
export function reshape(x: Tensor, shape: Shape): Tensor {
  return runOp(reshapeOp, [x], { shape });
}
/** Permutes axes. @param x Input. @param attrs The permutation. @returns The transposed tensor. */
export function transpose(x: Tensor, attrs: TransposeAttrs): Tensor {
  return runOp(transposeOp, [x], attrs);
}
/** Broadcasts to a shape. @param x Input. @param shape Target shape. @returns The broadcast tensor. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  return runOp(broadcastToOp, [x], { shape });
}
