import { definePlugin, Registry, Rng, type Shape } from "@cnnlab/core";
import { matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import webgpu, { WebGpuBackend } from "@cnnlab/backend-webgpu";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import activations, { functional } from "./mod.ts";
import { preluAlphaGradOp, preluGradOp, preluOp } from "./prelu.ts";
import assert from "node:assert/strict";

const rng = new Rng(34);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
/** Uniform in [lo, hi) with every seventh value exactly 0 (the kink). */
const arg = (shape: Shape, lo = -2, hi = 2) => ({
  values: uniform(rng, size(shape), lo, hi).map((v, i) => (i % 7 === 0 ? 0 : v)),
  shape,
});

Deno.test({
  name: "preluWebgpu, preluGradWebgpu and preluAlphaGradWebgpu agree with their references",
  ...gpuTest,
}, async () => {
  const d = await webgpuDevice([cpu, activations]);
  // [2, 4, 9] and [5, 7]: inner 9 and 1; [3, 2, 30, 30]: 2700 terms per channel, more than 256 lanes.
  for (const shape of [[2, 3, 4, 5], [5, 7], [2, 4, 9], [3, 2, 30, 30]]) {
    const c = shape[1];
    const x = arg(shape), dy = arg(shape), alpha = arg([c], 0, 1);
    await matchesReference(d, preluOp, [x, alpha], {}, { atol: 1e-7 });
    await matchesReference(d, preluGradOp, [dy, x, alpha], {}, { atol: 1e-7 });
    await matchesReference(d, preluAlphaGradOp, [dy, x], {}, { atol: 1e-4, rtol: 1e-5 });
  }
});

Deno.test(
  { name: "preluAlphaGradWebgpu sums a small case to the values written here", ...gpuTest },
  async () => {
    const d = await webgpuDevice([cpu, activations]);
    // x [2, 2, 2]: channel 0 holds -1, 2 | -3, 4; channel 1 holds -5, -6 | 7, 0.
    const x = d.tensor([-1, 2, -5, -6, -3, 4, 7, 0], [2, 2, 2]);
    const dy = d.tensor([1, 1, 1, 2, 3, 1, 1, 9], [2, 2, 2]);
    assert.deepEqual([...await functional.preluAlphaGrad(dy, x).data()], [-10, -17]);
  },
);

Deno.test({
  name: "preluWebgpu finds each element's channel across bound ranges of a split tensor",
  ...gpuTest,
}, async () => {
  // 1 KiB bindings: 256 values per range; 2·3·7·11 = 462 values, ranges start mid-channel.
  const small = definePlugin({
    ...webgpu,
    name: "@test/webgpu-small-bindings",
    provides: { backends: { webgpu: () => WebGpuBackend.create({ maxBindingBytes: 1024 }) } },
  });
  const d = await new Registry().use(small).use(cpu).use(activations).device("webgpu");
  const shape = [2, 3, 7, 11];
  const x = arg(shape), dy = arg(shape), alpha = arg([3], 0, 1);
  await matchesReference(d, preluOp, [x, alpha], {}, { atol: 1e-7 });
  await matchesReference(d, preluGradOp, [dy, x, alpha], {}, { atol: 1e-7 });
  // The reduction cannot be split: it refuses clearly.
  assert.throws(
    () => functional.preluAlphaGrad(d.tensor(dy.values, shape), d.tensor(x.values, shape)),
    (e) => e instanceof RangeError && /preluAlphaGrad.*--backend cpu/.test(e.message),
  );
});
