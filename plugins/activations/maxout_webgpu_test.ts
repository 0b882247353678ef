import { Rng, type Shape } from "@cnnlab/core";
import { matchesReference } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import activations, { functional } from "./mod.ts";
import { maxoutGradOp, maxoutOp } from "./maxout.ts";

const rng = new Rng(35);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
/** Values on a coarse grid, so ties (first one wins) occur. */
const coarse = (shape: Shape) => ({
  values: Float32Array.from({ length: size(shape) }, () => rng.int(7) - 3),
  shape,
});

Deno.test({
  name: "maxoutWebgpu and maxoutGradWebgpu agree with their references, ties included",
  ...gpuTest,
}, async () => {
  const d = await webgpuDevice([cpu, activations]);
  const cases: [Shape, number][] = [[[2, 6, 3, 4], 2], [[2, 6, 3, 4], 3], [[3, 8], 4], [[2, 5, 7], 1], [[
    2,
    9,
    2,
  ], 9]];
  for (const [shape, pieces] of cases) {
    const x = coarse(shape);
    const out = maxoutOp.outputShape([shape], { pieces });
    await matchesReference(d, maxoutOp, [x], { pieces }, { atol: 0, rtol: 0 });
    await matchesReference(d, maxoutGradOp, [coarse(out), x], { pieces }, { atol: 0, rtol: 0 });
  }
});

Deno.test(
  { name: "maxoutGradWebgpu sends the gradient to the first of tied channels", ...gpuTest },
  async () => {
    const d = await webgpuDevice([cpu, activations]);
    const dx = functional.maxoutGrad(d.tensor([7, 9], [1, 2]), d.tensor([3, 3, 1, 2], [1, 4]), { pieces: 2 });
    assert.deepEqual([...await dx.data()], [7, 0, 0, 9]);
  },
);
