import { keep, noGrad, type Optimizer, Registry, Rng, type Tensor, tidy } from "@cnnlab/core";
import { uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import optimizers from "./mod.ts";
import { adam, type AdamOptions } from "./adam.ts";
import { sgd, type SgdOptions } from "./sgd.ts";

// The composition of core ops runs where the plugin's kernels are not registered.
const composed = await new Registry().use(cpu).device("cpu");
const fused = await new Registry().use(cpu).use(optimizers).device("cpu");
const shapes = { W: [7, 9, 5], b: [9] };

/** Runs `steps` steps with seeded random parameters and gradients; returns every value as bits. */
function run(make: () => Optimizer, device: typeof fused, steps: number, opt = make()) {
  const rng = new Rng(5);
  const params = new Map<string, Tensor>(
    Object.entries(shapes).map((
      [k, s],
    ) => [k, device.tensor(uniform(rng, s.reduce((a, b) => a * b), -1, 1), s)]),
  );
  for (let t = 0; t < steps; t++) {
    tidy(() => {
      const grads = new Map(
        [...params].map(([k, p]) => [k, device.tensor(uniform(rng, p.size, -3, 3), p.shape)]),
      );
      noGrad(() => opt.step(params, grads));
    });
  }
  const bits = (t: Tensor) => [...new Uint32Array(t.dataSync().slice().buffer)];
  return {
    params: [...params.values()].map(bits),
    state: [...opt.state().tensors].map(([k, t]) => [k, bits(t)]),
    opt,
  };
}

const adamCases: AdamOptions[] = [{}, {
  lr: 0.01,
  weightDecay: 0.05,
  beta1: 0.8,
  beta2: 0.99,
  epsilon: 1e-6,
}];
for (const options of adamCases) {
  Deno.test(`adam(${JSON.stringify(options)}) fused ops give bit-identical params and state to the composition`, () => {
    const a = run(() => adam(options), composed, 6), b = run(() => adam(options), fused, 6);
    assert.deepEqual(b.params, a.params);
    assert.deepEqual(b.state, a.state);
  });
}

const sgdCases: SgdOptions[] = [
  {},
  { lr: 0.1, weightDecay: 0.01 },
  { lr: 0.05, momentum: 0.9 },
  { lr: 0.05, momentum: 0.9, weightDecay: 0.02 },
  { lr: 0.05, momentum: 0.8, nesterov: true },
  { lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0.02 },
];
for (const options of sgdCases) {
  Deno.test(`sgd(${JSON.stringify(options)}) fused ops give bit-identical params and state to the composition`, () => {
    const a = run(() => sgd(options), composed, 5), b = run(() => sgd(options), fused, 5);
    assert.deepEqual(b.params, a.params);
    assert.deepEqual(b.state, a.state);
  });
}

Deno.test("adam() state saved from the fused path continues identically on the composed path", () => {
  const options = { lr: 0.02, weightDecay: 0.01 };
  const first = run(() => adam(options), fused, 3);
  const saved = first.opt.state();
  // Copies on the other registry's device, as a checkpoint would restore them.
  const copies = new Map(
    [...saved.tensors].map(([k, t]) => [k, keep(composed.tensor(t.dataSync(), t.shape))]),
  );
  const resumed = adam(options);
  resumed.loadState({ tensors: copies, scalars: { ...saved.scalars } });
  assert.deepEqual(resumed.state().scalars, { step: 3 });
  const names = [...resumed.state().tensors.keys()].sort();
  assert.deepEqual(names, ["W/m", "W/v", "b/m", "b/v"]);
  // One more step each way from the same state: the same bits.
  const p = composed.tensor(uniform(new Rng(9), 9, -1, 1), [9]);
  const q = fused.tensor(p.dataSync(), [9]);
  const g = uniform(new Rng(10), 9, -1, 1);
  resumed.step(new Map([["b", p]]), new Map([["b", composed.tensor(g, [9])]]));
  first.opt.step(new Map([["b", q]]), new Map([["b", fused.tensor(g, [9])]]));
  assert.deepEqual([...p.dataSync()], [...q.dataSync()]);
  assert.deepEqual([...resumed.state().tensors.get("b/v")!.dataSync()], [
    ...first.opt.state().tensors.get("b/v")!.dataSync(),
  ]);
});
