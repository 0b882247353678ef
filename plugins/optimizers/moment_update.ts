/**
 * Op `momentUpdate`: `s·decay + gain·(g + weightDecay·p)^power` in one pass, the fused step that
 * `adam` (first and second moments) and `sgd` (momentum, Nesterov look-ahead and the parameter
 * step itself) build their updates from, instead of three to five allocating elementwise ops.
 *
 * The CPU kernel rounds to float32 after every operation in the same order as the composition of
 * core ops it replaces (`add(scale(s, decay), scale(mul(g', g'), gain))` with
 * `g' = add(g, scale(p, weightDecay))`), so it gives bit-for-bit the numbers the composition gave.
 * @module
 */
import { defineKernel, defineOp, type Kernel, type OpDef, runOp, type Tensor } from "@cnnlab/core";
import { allocate } from "@cnnlab/backend-cpu/memory";

/** Attributes of `momentUpdate`. */
export interface MomentUpdateAttrs {
  /** Factor on the old state `s`. */
  readonly decay: number;
  /** Factor on the (decayed, powered) gradient term. */
  readonly gain: number;
  /** 1 for a first moment (momentum), 2 for a second moment (Adam's `v`). */
  readonly power: 1 | 2;
  /** L2 factor: `p` times it is added to `g` first; 0 leaves `g` as it is. */
  readonly weightDecay: number;
}

function sameShapes(shapes: readonly (readonly number[])[]): readonly number[] {
  const [s, g, p] = shapes;
  const same = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((d, i) => d === b[i]);
  if (!same(s, g) || !same(s, p)) {
    throw new TypeError(
      `Cannot run op "momentUpdate" as s, g and p must share one shape: they are [${s}], [${g}] and [${p}]`,
    );
  }
  return s;
}

function checkAttrs({ decay, gain, power, weightDecay }: MomentUpdateAttrs): void {
  if (![decay, gain, weightDecay].every(Number.isFinite) || (power !== 1 && power !== 2)) {
    throw new RangeError(
      `Cannot run op "momentUpdate": decay, gain and weightDecay must be finite and power 1 or 2, got ${
        JSON.stringify({ decay, gain, power, weightDecay })
      }`,
    );
  }
}

/**
 * Op `momentUpdate`: inputs `(s, g, p)` of one shape; output
 * `decay·s + gain·(g + weightDecay·p)^power`. Not differentiable: optimizers run it under `noGrad`.
 */
export const momentUpdateOp: OpDef<MomentUpdateAttrs> = defineOp<MomentUpdateAttrs>({
  name: "momentUpdate",
  inputs: ["s", "g", "p"],
  outputShape: (shapes, attrs) => {
    checkAttrs(attrs);
    return sameShapes(shapes);
  },
  reference: ([s, g, p], _shapes, { decay, gain, power, weightDecay }) =>
    s.map((v, i) => decay * v + gain * Math.pow(g[i] + weightDecay * p[i], power)),
});

/**
 * Computes `decay·s + gain·(g + weightDecay·p)^power` elementwise in one op.
 *
 * @param inputs `[s, g, p]`: the state (a moment or, with `decay = 1`, the parameter itself), the
 *   gradient (or any update direction) and the parameter (for weight decay), all of one shape.
 * @param attrs Factors and the power.
 * @returns A new tensor shaped like `s`.
 * @throws {TypeError} If the shapes differ.
 * @throws {RangeError} If a factor is not finite or `power` is not 1 or 2.
 * @example An Adam first moment: 0.9·m + 0.1·g
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import optimizers, { momentUpdate } from "@cnnlab/optimizers";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(optimizers).device("cpu");
 * const m = momentUpdate([device.tensor([1, 0], [2]), device.tensor([2, 10], [2]), device.zeros([2])], {
 *   decay: 0.5, gain: 0.5, power: 1, weightDecay: 0,
 * });
 * assert.deepEqual([...m.dataSync()], [1.5, 5]);
 * ```
 */
export function momentUpdate(
  inputs: readonly [s: Tensor, g: Tensor, p: Tensor],
  attrs: MomentUpdateAttrs,
): Tensor {
  return runOp(momentUpdateOp, inputs, attrs);
}

const fround = Math.fround;

/** CPU kernel of `momentUpdate`: one pass, rounded like the composition it replaces. */
export const momentUpdateCpu: Kernel<Float32Array, MomentUpdateAttrs> = defineKernel<
  Float32Array,
  MomentUpdateAttrs
>({
  op: "momentUpdate",
  backend: "cpu",
  run([{ storage: s }, { storage: g }, { storage: p }], { decay, gain, power, weightDecay }) {
    const n = s.length, out = allocate(n);
    // Four loops rather than tests inside one: the branches are loop-invariant anyway, but this
    // keeps each body minimal. Every product and sum is rounded to float32 where the ops did.
    if (weightDecay === 0 && power === 1) {
      for (let i = 0; i < n; i++) out[i] = fround(s[i] * decay) + fround(g[i] * gain);
    } else if (weightDecay === 0) {
      for (let i = 0; i < n; i++) {
        const gi = g[i];
        out[i] = fround(s[i] * decay) + fround(fround(gi * gi) * gain);
      }
    } else if (power === 1) {
      for (let i = 0; i < n; i++) {
        const gi = fround(g[i] + fround(p[i] * weightDecay));
        out[i] = fround(s[i] * decay) + fround(gi * gain);
      }
    } else {
      for (let i = 0; i < n; i++) {
        const gi = fround(g[i] + fround(p[i] * weightDecay));
        out[i] = fround(s[i] * decay) + fround(fround(gi * gi) * gain);
      }
    }
    return out;
  },
});
