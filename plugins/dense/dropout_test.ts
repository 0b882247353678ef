import { gradients, ops, Registry, Rng, tidy } from "@cnnlab/core";
import { assertClose, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { dropout, resolveDropoutOptions } from "./dropout.ts";

const device = await new Registry().use(cpu).device("cpu");
const rng = new Rng(23);
const n = 100_000;

Deno.test("dropout() in inference returns its input unchanged", () => {
  const x = device.tensor(uniform(rng, 12), [3, 4]);
  assert.equal(dropout({ rate: 0.7 }).forward(x, { training: false, rng: new Rng(1) }), x);
});

Deno.test("dropout() in training drops a fraction ≈ rate, scales the rest by 1/(1−rate) and keeps the mean", () => {
  const ones = device.fill([10, n / 10], 1);
  for (const rate of [0.1, 0.5, 0.8]) {
    const y = tidy(() => dropout({ rate }).forward(ones, { training: true, rng: new Rng(5) }).dataSync());
    const dropped = y.filter((v) => v === 0).length / n;
    assert.ok(Math.abs(dropped - rate) < 0.01, `rate ${rate}: dropped ${dropped}`);
    assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / (1 - rate)) < 1e-6), `rate ${rate}: kept values`);
    const mean = y.reduce((s, v) => s + v, 0) / n;
    assert.ok(Math.abs(mean - 1) < 0.03, `rate ${rate}: mean ${mean}`);
  }
});

Deno.test("dropout() masks are deterministic for a seed and differ across seeds", () => {
  const x = device.fill([4, 250], 1);
  const run = (seed: number) =>
    tidy(() => dropout().forward(x, { training: true, rng: new Rng(seed) }).dataSync());
  assert.deepEqual(run(9), run(9));
  assert.notDeepEqual(run(9), run(10));
});

Deno.test("dropout() gradient equals the mask applied in the forward pass", () => {
  const values = uniform(rng, 600, 0.5, 2);
  const [y, dx] = tidy(() => {
    const x = device.tensor(values, [6, 100]);
    x.requiresGrad = true;
    const out = dropout({ rate: 0.3 }).forward(x, { training: true, rng: new Rng(3) });
    return [out.dataSync().slice(), gradients(ops.sum(out), [x])[0].dataSync().slice()];
  });
  const mask = y.map((v, i) => v / values[i]);
  assert.ok(mask.some((m) => m === 0) && mask.some((m) => m > 1));
  assertClose(dx, mask, { atol: 1e-6 });
  checkGradients(
    device,
    (x) => dropout({ rate: 0.3 }).forward(x, { training: true, rng: new Rng(3) }),
    [{ values: uniform(rng, 40), shape: [4, 10] }],
    { rng, label: "dropout" },
  );
});

Deno.test("dropout() with rate 0 is the identity in training too", () => {
  const x = device.tensor(uniform(rng, 8), [2, 4]);
  assert.equal(dropout({ rate: 0 }).forward(x, { training: true, rng: new Rng(1) }), x);
});

Deno.test("dropout() rejects a rate outside [0, 1)", () => {
  assert.deepEqual(resolveDropoutOptions({}), { rate: 0.5 });
  for (const rate of [1, -0.1, 1.5, NaN]) {
    assert.throws(
      () => dropout({ rate }),
      (e) => e instanceof RangeError && /dropout with rate .* in \[0, 1\)/.test(e.message),
    );
  }
});
