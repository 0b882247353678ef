import { type OpDef, runOp } from "@cnnlab/core";
import { assertClose, matchesReference } from "@cnnlab/core/testing";
import {
  maxPool2dBackwardOp,
  maxPool2dOp,
  minPool2dBackwardOp,
  minPool2dOp,
  type Pool2dAttrs,
  resolvePool2dOptions,
} from "./mod.ts";
import { cases, gpu, gpuTestOptions, read, Rng, tied, uniformArg } from "./_helpers_webgpu_test.ts";

const rng = new Rng(7);
const pairs: [OpDef<Pool2dAttrs>, OpDef<Pool2dAttrs>][] = [
  [maxPool2dOp, maxPool2dBackwardOp],
  [minPool2dOp, minPool2dBackwardOp],
];

Deno.test({
  name: "maxPool2d/minPool2d WebGPU kernels match the reference, forward and backward, on every window case",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  for (const [forward, backward] of pairs) {
    for (const { shape, options, label } of cases) {
      const attrs = resolvePool2dOptions(options, forward.name);
      const outShape = forward.outputShape([shape], attrs);
      const x = uniformArg(rng, shape);
      await matchesReference(device, forward, [x], attrs, { atol: 0, rtol: 0 }).catch((e) => {
        throw new Error(`${label}: ${e.message}`);
      });
      await matchesReference(device, backward, [x, uniformArg(rng, outShape)], attrs, { atol: 1e-6 })
        .catch((e) => {
          throw new Error(`${label}: ${e.message}`);
        });
    }
  }
});

Deno.test({
  name: "maxPool2d/minPool2d WebGPU kernels send ties to the first position of the window, ±0 included",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  for (const [forward, backward] of pairs) {
    for (const { shape, options, label } of cases.slice(0, 5)) {
      const attrs = resolvePool2dOptions(options, forward.name);
      const outShape = forward.outputShape([shape], attrs);
      const x = tied(rng, shape);
      await matchesReference(device, forward, [x], attrs, { atol: 0, rtol: 0 });
      // Distinct dy values: a gradient sent to the wrong tied position shows.
      await matchesReference(device, backward, [x, uniformArg(rng, outShape, 1, 2)], attrs, { atol: 1e-6 })
        .catch((e) => {
          throw new Error(`${label}: ${e.message}`);
        });
    }
  }
});

Deno.test({
  name: "maxPool2dBackward WebGPU kernel gives a 1×4 window's gradient to its first maximum",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  const attrs = resolvePool2dOptions({ poolSize: [1, 4] }, "maxPool2d");
  const dx = await read(() =>
    runOp(maxPool2dBackwardOp, [
      device.tensor([1, 3, 3, 3, 2, 2, 2, 2, 0, 0, 0, 0], [1, 1, 3, 4]),
      device.tensor([5, 6, 7], [1, 1, 3, 1]),
    ], attrs)
  );
  // Written from the rule, not from any kernel.
  assertClose(dx, [0, 5, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0], { atol: 0, rtol: 0 });
});
