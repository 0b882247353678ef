/**
 * Test helpers: closeness assertions, central-difference gradient checks and reference comparisons.
 * @module
 */
import { gradients } from "./autograd.ts";
import type { OpDef } from "./op.ts";
import { mul, sum } from "./ops.ts";
import type { Rng } from "./rng.ts";
import type { Shape } from "./shape.ts";
import { type Device, noGrad, runOp, type Tensor, tidy } from "./tensor.ts";

/**
 * Asserts two arrays are elementwise close: `|a − b| ≤ atol + rtol·|b|`.
 *
 * @param actual Values computed.
 * @param expected Values expected.
 * @param options Tolerances (default `atol = 1e-5`, `rtol = 1e-4`) and a label.
 * @throws {Error} Naming the first index that differs.
 * @example Close enough
 * ```ts
 * import { assertClose } from "@cnnlab/core/testing";
 * assertClose([1, 2], [1, 2.00001]);
 * ```
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: { atol?: number; rtol?: number; label?: string } = {},
): void {
  const { atol = 1e-5, rtol = 1e-4, label = "values" } = options;
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} differs from expected ${expected.length}`);
  }
  let worst = -1, worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = err;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: index ${worst} is ${actual[worst]}, expected ${
        expected[worst]
      } (atol ${atol}, rtol ${rtol})`,
    );
  }
}

/**
 * Fills an array with seeded uniform values in [lo, hi).
 *
 * @param rng The generator.
 * @param n Count.
 * @param lo Lower bound (default −1).
 * @param hi Upper bound (default 1).
 * @returns The values.
 */
export function uniform(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.next();
  return a;
}

/**
 * Checks analytic gradients of `f` against central differences of a random projection
 * `Σ f(x)·r`, perturbing every input element (or `maxChecks` of them, chosen by the RNG).
 * Values are float32, so keep inputs O(1), `eps` around 1e-2..1e-3 and avoid kinks.
 *
 * @param device Where to compute.
 * @param f The function of the inputs (any ops, any layers).
 * @param inputs Input values and shapes.
 * @param options RNG, step, tolerances, and which inputs to check.
 * @throws {Error} Naming the input and element whose gradient disagrees.
 */
export function checkGradients(
  device: Device,
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly { values: Float32Array; shape: Shape }[],
  options: {
    rng: Rng;
    eps?: number;
    atol?: number;
    rtol?: number;
    maxChecks?: number;
    label?: string;
    /** Inputs that are not differentiated (labels, masks): `true` at their index. */
    constant?: readonly boolean[];
  },
): void {
  const { rng, eps = 1e-2, atol = 2e-3, rtol = 2e-2, maxChecks = 60, label = "gradient", constant = [] } =
    options;
  const checked = inputs.map((_, i) => !constant[i]);
  // A fixed random projection turns any output into a scalar.
  let projection: Float32Array | undefined;
  const evaluate = (vals: Float32Array[]): number =>
    noGrad(() =>
      tidy(() => {
        const y = f(...vals.map((v, i) => device.tensor(v, inputs[i].shape)));
        projection ??= Float32Array.from({ length: y.size }, () => rng.next() * 2 - 1);
        return sum(mul(y, device.tensor(projection, y.shape))).dataSync()[0];
      })
    );
  const base = inputs.map((x) => x.values.slice());
  evaluate(base);
  const analytic = tidy(() => {
    const xs = base.map((v, i) => {
      const t = device.tensor(v, inputs[i].shape);
      t.requiresGrad = checked[i];
      return t;
    });
    const y = f(...xs);
    const loss = sum(mul(y, device.tensor(projection!, y.shape)));
    const grads = gradients(loss, xs.filter((_, i) => checked[i])).map((g) => g.dataSync().slice());
    return xs.map((_, i) => (checked[i] ? grads.shift()! : new Float32Array(0)));
  });
  for (let i = 0; i < inputs.length; i++) {
    if (!checked[i]) continue;
    const n = base[i].length;
    const idx = n <= maxChecks ? [...Array(n).keys()] : Array.from({ length: maxChecks }, () => rng.int(n));
    for (const j of idx) {
      const orig = base[i][j];
      base[i][j] = orig + eps;
      const up = evaluate(base);
      base[i][j] = orig - eps;
      const down = evaluate(base);
      base[i][j] = orig;
      const numeric = (up - down) / (2 * eps);
      const a = analytic[i][j];
      if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
        throw new Error(`${label}: d/d input ${i} [${j}] analytic ${a} vs numeric ${numeric}`);
      }
    }
  }
}

/**
 * Runs an op through its registered kernel and through its reference, and asserts they agree.
 *
 * @param device The device whose kernel to test.
 * @param op The op.
 * @param inputs Input values and shapes.
 * @param attrs The op's attributes.
 * @param options Tolerances.
 * @throws {Error} If they differ.
 */
export function checkAgainstReference<A>(
  device: Device,
  op: OpDef<A>,
  inputs: readonly { values: Float32Array; shape: Shape }[],
  attrs: A,
  options: { atol?: number; rtol?: number } = {},
): void {
  const got = tidy(() =>
    runOp(op, inputs.map((x) => device.tensor(x.values, x.shape)), attrs).dataSync().slice()
  );
  const shapes = inputs.map((x) => x.shape);
  const expected = op.reference(inputs.map((x) => x.values), shapes, attrs, op.outputShape(shapes, attrs));
  assertClose(got, expected, { ...options, label: `${op.name} on ${device.name} vs reference` });
}

/**
 * Runs an op through the kernel of `device`'s backend and through its reference, reading values
 * asynchronously (so it works on GPU backends), and asserts they agree.
 *
 * @param device The device whose kernel to test.
 * @param op The op.
 * @param inputs Input values and shapes.
 * @param attrs The op's attributes.
 * @param options Tolerances.
 * @returns Resolves when they agree.
 * @throws {Error} If they differ.
 */
export async function matchesReference<A>(
  device: Device,
  op: OpDef<A>,
  inputs: readonly { values: Float32Array; shape: Shape }[],
  attrs: A,
  options: { atol?: number; rtol?: number } = {},
): Promise<void> {
  const y = tidy(() => runOp(op, inputs.map((x) => device.tensor(x.values, x.shape)), attrs));
  const got = await y.data();
  y.dispose();
  const shapes = inputs.map((x) => x.shape);
  const expected = op.reference(inputs.map((x) => x.values), shapes, attrs, op.outputShape(shapes, attrs));
  assertClose(got, expected, { ...options, label: `${op.name} on ${device.name} vs reference` });
}
