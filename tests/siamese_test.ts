import { createRegistry } from "@cnnlab/cnnlab";
import { gradients, Model, noGrad, ops, Rng, tidy } from "@cnnlab/core";
import assert from "node:assert/strict";

const registry = createRegistry();
const device = await registry.device("cpu");

const siamese = {
  name: "siamese",
  inputs: { left: [1, 8, 8], right: [1, 8, 8] },
  layers: [
    { type: "conv2d", name: "convL", inputs: ["left"], filters: 3, kernelSize: 3 },
    { type: "flatten", name: "flatL" },
    { type: "dense", name: "embedL", units: 4 },
    { type: "conv2d", name: "convR", inputs: ["right"], share: "convL" },
    { type: "flatten", name: "flatR" },
    { type: "dense", name: "embedR", share: "embedL" },
  ],
  outputs: ["embedL", "embedR"],
};

Deno.test("a siamese graph's branches share weights: one parameter set, equal outputs for equal inputs", () => {
  const model = new Model(siamese, { registry, device, rng: new Rng(1) });
  assert.deepEqual([...model.parameters().keys()], [
    "convL.weight",
    "convL.bias",
    "embedL.weight",
    "embedL.bias",
  ]);
  assert.equal(model.summary().totalParameters, 3 * 9 + 3 + 108 * 4 + 4);
  const x = device.tensor(Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)), [1, 1, 8, 8]);
  const [l, r] = noGrad(() => model.run({ left: x, right: x }, { training: false, rng: new Rng(0) }).outputs);
  assert.deepEqual([...l.dataSync()], [...r.dataSync()]);
});

Deno.test("contrastive training of a siamese pair moves both branches' shared weights by the sum of both paths", () => {
  const model = new Model(siamese, { registry, device, rng: new Rng(2) });
  const params = [...model.parameters().values()];
  for (const p of params) p.requiresGrad = true;
  const loss = registry.loss("contrastive")({ margin: 2, normalize: false });
  const rng = new Rng(3);
  const a = device.tensor(Float32Array.from({ length: 128 }, () => rng.next()), [2, 1, 8, 8]);
  const b = device.tensor(Float32Array.from({ length: 128 }, () => rng.next()), [2, 1, 8, 8]);
  const y = device.tensor([1, 0], [2]);
  const grads = tidy(() => {
    const { outputs } = model.run({ left: a, right: b }, { training: true, rng });
    return gradients(loss.compute(outputs, y), params).map((g) => g.dataSync().slice());
  });
  // The same gradient computed with the right branch's contribution only must differ: both paths count.
  const leftOnly = tidy(() => {
    const { outputs } = model.run({ left: a, right: b }, { training: true, rng });
    const detached = device.tensor(outputs[1].dataSync(), outputs[1].shape);
    return gradients(loss.compute([outputs[0], detached], y), params).map((g) => g.dataSync().slice());
  });
  assert.ok(grads[0].some((v, i) => Math.abs(v - leftOnly[0][i]) > 1e-6));
  assert.ok(grads.every((g) => g.every(Number.isFinite)));
});

Deno.test("Model rejects sharing an unknown node or a layer of another type", () => {
  const bad = (share: string, type: string) => ({
    inputs: { a: [4], b: [4] },
    layers: [{ type: "dense", name: "da", inputs: ["a"], units: 2 }, {
      type,
      name: "db",
      inputs: ["b"],
      share,
    }],
  });
  assert.throws(
    () => new Model(bad("nope", "dense"), { registry, device, rng: new Rng(1) }),
    /shares "nope", which is not an earlier node/,
  );
  assert.throws(
    () => new Model(bad("da", "relu"), { registry, device, rng: new Rng(1) }),
    /a dense, not a relu/,
  );
  void ops;
});
