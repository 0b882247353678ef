import { Rng, type Shape } from "@cnnlab/core";
import { matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import activations from "./mod.ts";
import { eluGradOp, eluOp } from "./elu.ts";

const rng = new Rng(33);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
const arg = (shape: Shape, lo = -4, hi = 2) => ({ values: uniform(rng, size(shape), lo, hi), shape });

Deno.test({ name: "eluWebgpu and eluGradWebgpu agree with their references", ...gpuTest }, async () => {
  const d = await webgpuDevice([cpu, activations]);
  for (const alpha of [1, 0.4]) {
    const x = arg([2, 3, 4, 5]);
    x.values[0] = 0;
    x.values[1] = -60; // saturates at −alpha
    await matchesReference(d, eluOp, [x], { alpha }, { atol: 1e-6, rtol: 1e-5 });
    await matchesReference(d, eluGradOp, [arg([2, 3, 4, 5]), x], { alpha }, { atol: 1e-6, rtol: 1e-5 });
  }
});

Deno.test(
  { name: "eluWebgpu keeps its relative precision for tiny negative inputs", ...gpuTest },
  async () => {
    // exp(v) − 1 in float32 would be off by up to ~1e-3 relative here; the series is not.
    const d = await webgpuDevice([cpu, activations]);
    const x = { values: Float32Array.from({ length: 64 }, (_, i) => -(i + 1) * 1.5e-4), shape: [64] };
    await matchesReference(d, eluOp, [x], { alpha: 1 }, { atol: 0, rtol: 1e-6 });
  },
);
