import { matchesReference } from "@cnnlab/core/testing";
import { avgPool2dBackwardOp, avgPool2dOp, resolvePool2dOptions } from "./mod.ts";
import { cases, gpu, gpuTestOptions, Rng, uniformArg } from "./_helpers_webgpu_test.ts";

const rng = new Rng(8);

Deno.test({
  name: "avgPool2d WebGPU kernels match the reference, forward and backward, on every window case",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  for (const { shape, options, label } of cases) {
    const attrs = resolvePool2dOptions(options, "avgPool2d");
    const outShape = avgPool2dOp.outputShape([shape], attrs);
    const tolerance = { atol: 1e-6, rtol: 1e-5 };
    await matchesReference(device, avgPool2dOp, [uniformArg(rng, shape)], attrs, tolerance).catch((e) => {
      throw new Error(`${label}: ${e.message}`);
    });
    await matchesReference(
      device,
      avgPool2dBackwardOp,
      [uniformArg(rng, outShape)],
      { ...attrs, inputShape: shape },
      tolerance,
    ).catch((e) => {
      throw new Error(`${label}: ${e.message}`);
    });
  }
});
