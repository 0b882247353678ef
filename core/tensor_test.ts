import { gradients, keep, noGrad, ops, Registry, Rng, tidy } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";

const device = await new Registry().use(cpu).device("cpu");

Deno.test("tidy() disposes intermediates, keeps returned and kept tensors", () => {
  let a, b, c;
  const out = tidy(() => {
    a = device.tensor([1, 2], [2]);
    b = keep(ops.scale(a, 2));
    c = ops.add(a, b);
    return { c };
  });
  assert.ok(a!.disposed);
  assert.ok(!b!.disposed);
  assert.equal(out.c, c);
  assert.ok(!c!.disposed);
  assert.throws(() => a!.dataSync(), /disposed/);
});

Deno.test("noGrad() records nothing on the tape", () => {
  const x = device.tensor([1], [1]);
  x.requiresGrad = true;
  const y = noGrad(() => ops.mul(x, x));
  assert.equal(y.node, undefined);
  assert.equal(ops.mul(x, x).requiresGrad, true);
});

Deno.test("device.tensor() rejects a size mismatch", () => {
  assert.throws(() => device.tensor([1, 2, 3], [2, 2]), /3 values given, 4 needed/);
});

Deno.test("Tensor.assign() swaps storage and rejects another shape", () => {
  const p = device.tensor([1, 2], [2]);
  const v = device.tensor([5, 6], [2]);
  p.assign(v);
  assert.deepEqual([...p.dataSync()], [5, 6]);
  assert.ok(v.disposed);
  assert.throws(() => p.assign(device.tensor([1], [1])), TypeError);
});

Deno.test("gradients() requires a seed for a non-scalar output", () => {
  const x = device.tensor([1, 2], [2]);
  x.requiresGrad = true;
  assert.throws(() => gradients(ops.scale(x, 2), [x]), /seed gradient/);
});

Deno.test("Rng: same seed, same stream; normal() has mean 0 and variance 1", () => {
  const a = new Rng(3), b = new Rng(3);
  for (let i = 0; i < 10; i++) assert.equal(a.nextUint32(), b.nextUint32());
  const r = new Rng(5);
  let s = 0, s2 = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const v = r.normal();
    s += v;
    s2 += v * v;
  }
  assert.ok(Math.abs(s / n) < 0.03);
  assert.ok(Math.abs(s2 / n - 1) < 0.05);
});
