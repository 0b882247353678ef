import { ops, Registry, Rng, type Shape } from "@cnnlab/core";
import { checkAgainstReference, uniform } from "@cnnlab/core/testing";
import cpu from "../mod.ts";

const device = await new Registry().use(cpu).device("cpu");
const binary = [ops.addOp, ops.subOp, ops.mulOp, ops.divOp, ops.maximumOp, ops.greaterEqualOp];

// Each pair reaches one loop of the binary kernel: both contiguous, a broadcast scalar on either side
// (runs of 6 and of 35 values), and strided operands (a broadcast column).
const PAIRS: [Shape, Shape][] = [
  [[3, 4, 5], [3, 4, 5]],
  [[2, 3, 5, 7], [1, 3, 1, 1]],
  [[1, 3, 1, 1], [2, 3, 5, 7]],
  [[4, 6], [4, 1]],
  [[4, 1], [4, 6]],
  [[5, 4], [4]],
  [[4, 5, 6], [4, 1, 6]],
  [[], [2, 3]],
  [[2, 3], []],
];

Deno.test("binary kernels match their references for contiguous, scalar and strided runs", () => {
  const rng = new Rng(3);
  for (const op of binary) {
    for (const [sa, sb] of PAIRS) {
      const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
      // Divisors away from 0; ties for maximum/greaterEqual from rounded values.
      const a = uniform(rng, size(sa), -2, 2).map((v) => Math.round(v * 2) / 2);
      const b = uniform(rng, size(sb), 0.5, 2).map((v, i) => (i % 2 ? -v : v));
      checkAgainstReference(device, op, [{ values: a, shape: sa }, { values: b, shape: sb }], {});
    }
  }
});
