import { definePlugin, Registry, Rng } from "@cnnlab/core";
import { matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import webgpu, { WebGpuBackend } from "@cnnlab/backend-webgpu";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import optimizers from "./mod.ts";
import { momentUpdateOp } from "./moment_update.ts";
import { adamApplyOp } from "./adam_apply.ts";

const rng = new Rng(41);
const arg = (n: number, lo = -2) => ({ values: uniform(rng, n, lo, 2), shape: [n] });
const moments = [
  { decay: 0.9, gain: 0.1, power: 1, weightDecay: 0 },
  { decay: 0.99, gain: 0.01, power: 2, weightDecay: 0.3 },
] as const;
const step = { lr: 0.05, beta1: 0.8, beta2: 0.99, epsilon: 1e-3, step: 3 };

Deno.test(
  { name: "momentUpdateWebgpu and adamApplyWebgpu agree with their references", ...gpuTest },
  async () => {
    const d = await webgpuDevice([cpu, optimizers]);
    for (const n of [1, 37, 300]) {
      for (const attrs of moments) await matchesReference(d, momentUpdateOp, [arg(n), arg(n), arg(n)], attrs);
      await matchesReference(d, adamApplyOp, [arg(n), arg(n), arg(n, 0)], step, { atol: 1e-5 });
    }
  },
);

Deno.test({
  name: "momentUpdateWebgpu and adamApplyWebgpu split tensors larger than one storage binding into ranges",
  ...gpuTest,
}, async () => {
  // 1 KiB bindings: 256 values per range, so 1000 values take four passes.
  const small = definePlugin({
    ...webgpu,
    name: "@test/webgpu-small-bindings",
    provides: { backends: { webgpu: () => WebGpuBackend.create({ maxBindingBytes: 1024 }) } },
  });
  const d = await new Registry().use(small).use(cpu).use(optimizers).device("webgpu");
  await matchesReference(d, momentUpdateOp, [arg(1000), arg(1000), arg(1000)], moments[1]);
  await matchesReference(d, adamApplyOp, [arg(1000), arg(1000), arg(1000, 0)], step, { atol: 1e-5 });
});
