/**
 * Reverse-mode differentiation over the tape that `runOp` records.
 * @module
 */
import { noGrad, type Tensor } from "./tensor.ts";
import { add, sumTo } from "./ops.ts";
import { shapesEqual } from "./shape.ts";

/**
 * Computes d(output)/d(x) for each `x` in `wrt`, seeding with `dy` (ones when `output` is a scalar).
 * Gradients run as ops on the backend that holds the tensors; nothing is read back.
 *
 * @param output The tensor to differentiate, usually a scalar loss.
 * @param wrt Tensors to differentiate with respect to; each must have `requiresGrad`.
 * @param dy Seed gradient, same shape as `output`; defaults to ones for a scalar.
 * @returns One gradient per `wrt` entry, shaped like it (zeros where no path exists).
 * @throws {TypeError} If `output` is not a scalar and no `dy` is given.
 * @example d(sum(x²))/dx = 2x
 * ```ts
 * import { gradients, ops, Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const x = device.tensor([1, 2, 3], [3]);
 * x.requiresGrad = true;
 * const [dx] = gradients(ops.sum(ops.mul(x, x)), [x]);
 * assert.deepEqual([...dx.dataSync()], [2, 4, 6]);
 * ```
 */
export function gradients(output: Tensor, wrt: readonly Tensor[], dy?: Tensor): Tensor[] {
  if (!dy && output.size !== 1) {
    throw new TypeError(
      `Cannot differentiate a tensor of shape [${output.shape}] without a seed gradient: reduce it to a scalar or pass dy`,
    );
  }
  // Topological order of every node that leads to `output`.
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[output, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    stack.push([t, true]);
    if (t.node) {
      for (const input of t.node.inputs) {
        if (input.requiresGrad && !seen.has(input)) stack.push([input, false]);
      }
    }
  }
  return noGrad(() => {
    const grads = new Map<Tensor, Tensor>();
    grads.set(output, dy ?? output.device.fill(output.shape, 1));
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g || !t.node) continue;
      const { op, inputs, attrs } = t.node;
      inputs.forEach((input, k) => {
        if (!input.requiresGrad) return;
        const gradFn = op.grads?.[k];
        if (!gradFn) {
          throw new TypeError(`Cannot differentiate op "${op.name}" with respect to input "${op.inputs[k]}"`);
        }
        let gi = gradFn({ dy: g, inputs, output: t, attrs });
        if (!shapesEqual(gi.shape, input.shape)) gi = sumTo(gi, input.shape);
        const prev = grads.get(input);
        grads.set(input, prev ? add(prev, gi) : gi);
      });
    }
    return wrt.map((x) => grads.get(x) ?? x.device.zeros(x.shape));
  });
}
