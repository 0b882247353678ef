import { Rng, type Shape } from "@cnnlab/core";
import { matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import activations from "./mod.ts";
import { leakyReluGradOp, leakyReluOp } from "./leaky_relu.ts";

const rng = new Rng(32);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
/** Uniform in [−2, 2) with every fifth value exactly 0 (the kink). */
const arg = (shape: Shape) => ({
  values: uniform(rng, size(shape), -2, 2).map((v, i) => (i % 5 === 0 ? 0 : v)),
  shape,
});

Deno.test(
  { name: "leakyReluWebgpu and leakyReluGradWebgpu agree with their references", ...gpuTest },
  async () => {
    const d = await webgpuDevice([cpu, activations]);
    for (const alpha of [0.01, 0.3]) {
      for (const shape of [[2, 3, 4, 5], [7]]) {
        await matchesReference(d, leakyReluOp, [arg(shape)], { alpha }, { atol: 1e-7 });
        await matchesReference(d, leakyReluGradOp, [arg(shape), arg(shape)], { alpha }, { atol: 1e-7 });
      }
    }
  },
);
