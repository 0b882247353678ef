import { definePlugin, Registry, Rng, type Shape } from "@cnnlab/core";
import { matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import webgpu, { WebGpuBackend } from "@cnnlab/backend-webgpu";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import activations from "./mod.ts";
import { relu, reluGradOp, reluOp } from "./relu.ts";
import assert from "node:assert/strict";

const rng = new Rng(31);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
/** Uniform in [−2, 2) with every fifth value exactly 0 (the kink). */
const arg = (shape: Shape) => ({
  values: uniform(rng, size(shape), -2, 2).map((v, i) => (i % 5 === 0 ? 0 : v)),
  shape,
});
let device: ReturnType<typeof webgpuDevice> | undefined;
const gpu = () => device ??= webgpuDevice([cpu, activations]);

Deno.test({ name: "reluWebgpu and reluGradWebgpu agree with their references", ...gpuTest }, async () => {
  const d = await gpu();
  for (const shape of [[3, 5, 7], [1], [2, 33]]) {
    await matchesReference(d, reluOp, [arg(shape)], {}, { atol: 0, rtol: 0 });
    await matchesReference(d, reluGradOp, [arg(shape), arg(shape)], {}, { atol: 0, rtol: 0 });
  }
});

Deno.test({
  name: "reluWebgpu and reluGradWebgpu split tensors larger than one storage binding into ranges",
  ...gpuTest,
}, async () => {
  // 1 KiB bindings: 256 values per range, so 1000 values take four passes.
  const small = definePlugin({
    ...webgpu,
    name: "@test/webgpu-small-bindings",
    provides: { backends: { webgpu: () => WebGpuBackend.create({ maxBindingBytes: 1024 }) } },
  });
  const d = await new Registry().use(small).use(cpu).use(activations).device("webgpu");
  await matchesReference(d, reluOp, [arg([4, 250])], {}, { atol: 0, rtol: 0 });
  await matchesReference(d, reluGradOp, [arg([1000]), arg([1000])], {}, { atol: 0, rtol: 0 });
});

Deno.test(
  { name: "reluWebgpu gives Math.max(x, 0): NaN of either sign stays NaN, −0 gives +0", ...gpuTest },
  async () => {
    const d = await gpu();
    const nans = [
      ...new Float32Array(new Uint32Array([0x7fc00000, 0x7f800001, 0xffc00000, 0xff800001]).buffer),
    ];
    const values = [-0, 0, Infinity, -Infinity, ...nans, 3.4e38, -3.4e38, 1, -1, 0.5];
    const got = await relu(d.tensor(values, [values.length])).data();
    // deepEqual compares as Object.is: NaN equals NaN, −0 differs from +0.
    assert.deepEqual([...got], values.map((v) => Math.max(Math.fround(v), 0)));
  },
);
