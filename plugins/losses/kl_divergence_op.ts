/**
 * The `klDivergence` op, `KL(p ‖ softmax(logits))` averaged over the batch,
 *
 *     L = (1/n) Σᵢ Σⱼ pᵢⱼ·(log pᵢⱼ − log qᵢⱼ),   q = softmax(logits),   0·log 0 = 0,
 *
 * and its gradient op `klDivergenceGrad`, with reference kernels. The second input is either class
 * indices `[n]` (p is then one-hot) or distributions `[n, k]`; with attribute `labelSmoothing` ε
 * the targets become `p' = (1 − ε)·p + ε/k` (for either form) before the divergence is taken.
 *
 * Design notes: the op takes LOGITS, not probabilities, and uses a stable log-softmax
 * (`log q = x − logsumexp(x)`), so no probability is ever rounded to 0 before its log. The gradient
 * with respect to the logits is its own op, `(Σⱼp'ⱼ·q − p')/n·dy` (= `(q − p')/n·dy` for rows that
 * sum to 1; the factor keeps it the exact gradient of the forward for rows within the 1e-3
 * tolerance). The gradient with respect to `[n, k]` target distributions is cheap, so it is given,
 * composed from primitives: `(1 − ε)·(log p' − log q + 1)/n·dy` where p' > 0, and 0 where p' = 0
 * (there the one-sided derivative is −∞; 0 is the value the kernels' `0·log 0 = 0` convention
 * continues to). Class-index targets are not differentiable. Row checks (non-negative, sum 1 within
 * 1e-3) happen in the kernels, where values are known.
 * @module
 */
import { defineOp, type OpDef, ops, runOp, type Shape, sizeOf, type Tensor } from "@cnnlab/core";
import { labelError } from "./_labels.ts";
import { DISTRIBUTION_TOLERANCE, distributionError } from "./_targets.ts";

/** Attributes of `klDivergence` and `klDivergenceGrad`. */
export interface KlDivergenceAttrs {
  /** ε in [0, 1): targets become `(1 − ε)·p + ε/k`. */
  readonly labelSmoothing: number;
}

function checkShapes(op: string, logits: Shape, targets: Shape, attrs: KlDivergenceAttrs): void {
  if (logits.length !== 2 || logits[0] < 1 || logits[1] < 1) {
    throw new TypeError(
      `Cannot apply ${op} as logits must be [batch, classes] with both at least 1: current shape is [${logits}]`,
    );
  }
  const asLabels = targets.length === 1 && targets[0] === logits[0];
  const asRows = targets.length === 2 && targets[0] === logits[0] && targets[1] === logits[1];
  if (!asLabels && !asRows) {
    throw new TypeError(
      `Cannot apply ${op} as targets must be class indices [${
        logits[0]
      }] or distributions [${logits}] to match logits [${logits}]: current shape is [${targets}]`,
    );
  }
  const eps = attrs.labelSmoothing;
  if (typeof eps !== "number" || !(eps >= 0 && eps < 1)) {
    throw new RangeError(`Cannot apply ${op}: attribute labelSmoothing is ${eps}; use a number in [0, 1)`);
  }
}

/**
 * Reference helper: fills `row` with the (smoothed) target distribution of example `i`, checking it.
 */
function targetRow(
  action: string,
  t: Float32Array,
  rank: number,
  i: number,
  k: number,
  eps: number,
  row: Float64Array,
): void {
  if (rank === 1) {
    const c = t[i];
    if (!Number.isInteger(c) || c < 0 || c >= k) throw labelError(action, c, i, k);
    for (let j = 0; j < k; j++) row[j] = (1 - eps) * (j === c ? 1 : 0) + eps / k;
    return;
  }
  let total = 0;
  for (let j = 0; j < k; j++) {
    const v = t[i * k + j];
    if (!(v >= 0)) throw distributionError(action, i, `entry ${j} is ${v}`);
    total += v;
  }
  if (!(Math.abs(total - 1) <= DISTRIBUTION_TOLERANCE)) {
    throw distributionError(action, i, `it sums to ${total}`);
  }
  for (let j = 0; j < k; j++) row[j] = (1 - eps) * t[i * k + j] + eps / k;
}

/** Reference helper: log softmax of `x[i·k .. (i+1)·k)` into `out`. */
function logSoftmaxRow(x: Float32Array, i: number, k: number, out: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < k; j++) m = Math.max(m, x[i * k + j]);
  let s = 0;
  for (let j = 0; j < k; j++) s += Math.exp(x[i * k + j] - m);
  for (let j = 0; j < k; j++) out[j] = x[i * k + j] - m - Math.log(s);
}

/** Log softmax over axis 1, from primitives (for the gradients). */
function logSoftmax(x: Tensor): Tensor {
  const z = ops.sub(x, ops.max(x, { axes: [1], keepDims: true }));
  return ops.sub(z, ops.log(ops.sum(ops.exp(z), { axes: [1], keepDims: true })));
}

function noLabelGradient(op: string): never {
  throw new TypeError(
    `Cannot differentiate op "${op}" with respect to class-index targets [batch]: they are integers; pass [batch, classes] distributions to get a gradient`,
  );
}

/**
 * `klDivergence(logits [n, k], targets [n] | [n, k])` → scalar `[]`, attribute `{ labelSmoothing }`:
 * the mean over the batch of `KL(p' ‖ softmax(logits))`. Differentiable with respect to the logits,
 * and to the targets when they are `[n, k]` distributions. Kernels throw a RangeError naming
 * `klDivergence` for a bad class index or a target row that is not a distribution.
 */
export const klDivergenceOp: OpDef<KlDivergenceAttrs> = defineOp<KlDivergenceAttrs>({
  name: "klDivergence",
  inputs: ["logits", "targets"],
  outputShape([logits, targets], attrs) {
    checkShapes("klDivergence", logits, targets, attrs);
    return [];
  },
  reference([x, t], [[n, k], ts], { labelSmoothing }) {
    const p = new Float64Array(k), logq = new Float64Array(k);
    let total = 0;
    for (let i = 0; i < n; i++) {
      targetRow("compute klDivergence", t, ts.length, i, k, labelSmoothing, p);
      logSoftmaxRow(x, i, k, logq);
      for (let j = 0; j < k; j++) if (p[j] > 0) total += p[j] * (Math.log(p[j]) - logq[j]);
    }
    return Float32Array.of(total / n);
  },
  grads: [
    ({ dy, inputs: [logits, targets], attrs }) =>
      klDivergenceGrad(logits, targets, { dy, labelSmoothing: attrs.labelSmoothing }),
    // (1 − ε)·(log p' − log q + 1)/n·dy where p' > 0, else 0.
    ({ dy, inputs: [logits, targets], attrs }) => {
      if (targets.rank === 1) noLabelGradient("klDivergence");
      const [n, k] = logits.shape;
      const eps = attrs.labelSmoothing;
      const p = ops.addScalar(ops.scale(targets, 1 - eps), eps / k);
      const present = ops.sign(p); // 1 where p' > 0, 0 where p' = 0
      const logp = ops.log(ops.add(p, ops.addScalar(ops.neg(present), 1))); // log 1 = 0 where p' = 0
      const term = ops.mul(present, ops.addScalar(ops.sub(logp, logSoftmax(logits)), 1));
      return ops.mul(ops.scale(term, (1 - eps) / n), ops.reshape(dy, []));
    },
  ],
});

/**
 * `klDivergenceGrad(logits [n, k], targets [n] | [n, k], dy)` → `[n, k]`, attribute
 * `{ labelSmoothing }`: the gradient of `klDivergence` with respect to the logits,
 * `(Σⱼp'ⱼ·softmax(logits) − p')/n·dy`; `dy` holds one value. Differentiable with respect to the
 * logits, `dy`, and the targets when they are `[n, k]` distributions.
 */
export const klDivergenceGradOp: OpDef<KlDivergenceAttrs> = defineOp<KlDivergenceAttrs>({
  name: "klDivergenceGrad",
  inputs: ["logits", "targets", "dy"],
  outputShape([logits, targets, dy], attrs) {
    checkShapes("klDivergenceGrad", logits, targets, attrs);
    if (sizeOf(dy) !== 1) {
      throw new TypeError(
        `Cannot apply klDivergenceGrad as dy must hold one value (the loss is a scalar): current shape is [${dy}]`,
      );
    }
    return logits;
  },
  reference([x, t, dy], [[n, k], ts], { labelSmoothing }) {
    const p = new Float64Array(k), logq = new Float64Array(k);
    const g = new Float32Array(n * k);
    for (let i = 0; i < n; i++) {
      targetRow("compute the gradient of klDivergence", t, ts.length, i, k, labelSmoothing, p);
      logSoftmaxRow(x, i, k, logq);
      let mass = 0;
      for (let j = 0; j < k; j++) mass += p[j];
      for (let j = 0; j < k; j++) g[i * k + j] = (mass * Math.exp(logq[j]) - p[j]) / n * dy[0];
    }
    return g;
  },
  grads: [
    // d/dlogits Σ u·g = mass·dy/n · (q⊙u − q·Σⱼ qⱼuⱼ), the softmax Jacobian applied to u.
    ({ dy: u, inputs: [logits, targets, dy], attrs }) => {
      const n = logits.shape[0];
      const q = ops.exp(logSoftmax(logits));
      const qu = ops.mul(q, u);
      let jvp = ops.sub(qu, ops.mul(q, ops.sum(qu, { axes: [1], keepDims: true })));
      if (targets.rank === 2) {
        const eps = attrs.labelSmoothing;
        const mass = ops.addScalar(ops.scale(ops.sum(targets, { axes: [1], keepDims: true }), 1 - eps), eps);
        jvp = ops.mul(jvp, mass);
      }
      return ops.mul(ops.scale(jvp, 1 / n), ops.reshape(dy, []));
    },
    // d/dp Σ u·g = (1 − ε)/n·dy · (Σⱼ uⱼqⱼ − u).
    ({ dy: u, inputs: [logits, targets, dy], attrs }) => {
      if (targets.rank === 1) noLabelGradient("klDivergenceGrad");
      const n = logits.shape[0];
      const q = ops.exp(logSoftmax(logits));
      const d = ops.sub(ops.sum(ops.mul(u, q), { axes: [1], keepDims: true }), u);
      return ops.mul(ops.scale(d, (1 - attrs.labelSmoothing) / n), ops.reshape(dy, []));
    },
    // The op is linear in dy: d/ddy Σ u·g = Σ u·g(dy = 1).
    ({ dy: u, inputs: [logits, targets, dy], attrs }) => {
      const unit = klDivergenceGrad(logits, targets, {
        dy: dy.device.fill(dy.shape, 1),
        labelSmoothing: attrs.labelSmoothing,
      });
      return ops.reshape(ops.sum(ops.mul(u, unit)), dy.shape);
    },
  ],
});

/**
 * Computes the mean `KL(p' ‖ softmax(logits))` (runs `klDivergenceOp`). Takes LOGITS: the softmax
 * is applied inside, stably.
 *
 * @param logits Unnormalised scores `[batch, classes]`.
 * @param targets Class indices `[batch]` (float32) or distributions `[batch, classes]`.
 * @param attrs `{ labelSmoothing }`: ε in [0, 1); targets become `(1 − ε)·p + ε/k` (0 leaves them as they are).
 * @returns The scalar loss (shape `[]`).
 * @throws {TypeError} If the shapes do not match.
 * @throws {RangeError} If ε is outside [0, 1), or (from the kernel) a label is not a class index or
 * a target row is negative somewhere or does not sum to 1 within 1e-3.
 * @example The divergence from a distribution to itself is 0
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { klDivergenceLoss } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const logits = device.tensor([Math.log(0.25), Math.log(0.75)], [1, 2]);
 * const loss = klDivergenceLoss(logits, device.tensor([0.25, 0.75], [1, 2]), { labelSmoothing: 0 });
 * assert.ok(Math.abs(await loss.item()) < 1e-7);
 * ```
 */
export function klDivergenceLoss(logits: Tensor, targets: Tensor, attrs: KlDivergenceAttrs): Tensor {
  return runOp(klDivergenceOp, [logits, targets], { labelSmoothing: attrs.labelSmoothing });
}

/**
 * Computes the gradient of `klDivergenceLoss` with respect to the logits (runs `klDivergenceGradOp`).
 *
 * @param logits Unnormalised scores `[batch, classes]`.
 * @param targets Class indices `[batch]` (float32) or distributions `[batch, classes]`.
 * @param options `dy`, the upstream gradient of the scalar loss (one value), and `labelSmoothing` ε.
 * @returns `(Σⱼp'ⱼ·softmax(logits) − p')/batch · dy`, shaped like `logits`.
 * @throws {TypeError} If the shapes do not match or `dy` is not one value.
 * @throws {RangeError} If ε is outside [0, 1), or (from the kernel) the targets are invalid.
 * @example Equal logits against a one-hot target
 * ```ts
 * import { Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import losses, { klDivergenceGrad } from "@cnnlab/losses";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).use(losses).device("cpu");
 * const g = klDivergenceGrad(device.fill([1, 2], 0), device.tensor([1], [1]), {
 *   dy: device.scalar(1),
 *   labelSmoothing: 0,
 * });
 * assert.deepEqual([...await g.data()], [0.5, -0.5]);
 * ```
 */
export function klDivergenceGrad(
  logits: Tensor,
  targets: Tensor,
  options: { readonly dy: Tensor; readonly labelSmoothing: number },
): Tensor {
  return runOp(klDivergenceGradOp, [logits, targets, options.dy], { labelSmoothing: options.labelSmoothing });
}
