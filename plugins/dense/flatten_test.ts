import { Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { flatten } from "./flatten.ts";

const device = await new Registry().use(cpu).device("cpu");
const rng = new Rng(22);
const ctx = { training: false, rng };

Deno.test("flatten() maps [n, ...] to [n, prod(rest)]", () => {
  const cases: [Shape, Shape][] = [[[2, 3, 4, 5], [2, 60]], [[7, 10], [7, 10]], [[3], [3, 1]], [
    [1, 16, 5, 5],
    [1, 400],
  ]];
  for (const [input, output] of cases) assert.deepEqual(flatten().outputShape(input), output);
});

Deno.test("flatten() keeps row-major values and its FLOPs are 0", () => {
  const values = uniform(rng, 24);
  const y = tidy(() => flatten().forward(device.tensor(values, [2, 3, 2, 2]), ctx));
  assert.deepEqual(y.shape, [2, 12]);
  assert.deepEqual(y.dataSync(), values);
  assert.equal(flatten().flops!([2, 3, 2, 2]), 0);
});

Deno.test("flatten() gradient matches central differences", () => {
  checkGradients(device, (x) => flatten().forward(x, ctx), [{ values: uniform(rng, 24), shape: [2, 3, 4] }], {
    rng,
    label: "flatten",
  });
});

Deno.test("flatten() rejects a scalar input and a list of inputs", () => {
  assert.throws(
    () => flatten().outputShape([]),
    (e) => e instanceof TypeError && /needs a batch axis/.test(e.message),
  );
  assert.throws(() => flatten().outputShape([[1, 2], [1, 2]]), TypeError);
});
