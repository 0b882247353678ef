import {
  gradients,
  type Layer,
  noGrad,
  ops,
  Registry,
  Rng,
  type Shape,
  type Tensor,
  tidy,
} from "@cnnlab/core";
import { assertClose, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import activations, { elu, functional, leakyRelu, maxout, prelu, relu } from "./mod.ts";

const device = await new Registry().use(cpu).use(activations).device("cpu");
const rng = new Rng(16);
const ctx = { training: true, rng: new Rng(0) };
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
/** Distinct values 0.05 apart in random order, none within 0.025 of 0: no kink inside a finite-difference step. */
const spread = (shape: Shape) => {
  const values = Float32Array.from(rng.shuffle([...Array(size(shape)).keys()]), (i) => i * 0.05 - 0.975);
  return { values, shape };
};

/** Central differences of Σ forward(x)·r with respect to one parameter, perturbed in place through `assign`. */
function checkParameterGradient(layer: Layer, x: Tensor, name: string): void {
  const param = layer.parameters().get(name)!;
  const out = layer.outputShape(x.shape);
  const r = device.tensor(uniform(rng, size(out)), out);
  const loss = () => ops.sum(ops.mul(layer.forward(x, ctx), r));
  param.requiresGrad = true;
  const analytic = tidy(() => gradients(loss(), [param])[0].dataSync().slice());
  param.requiresGrad = false;
  const base = param.dataSync().slice(), eps = 1e-2;
  const at = (j: number, v: number) => {
    const values = base.slice();
    values[j] = v;
    param.assign(device.tensor(values, param.shape));
    return noGrad(() => tidy(() => loss().dataSync()[0]));
  };
  for (let j = 0; j < base.length; j++) {
    const numeric = (at(j, base[j] + eps) - at(j, base[j] - eps)) / (2 * eps);
    assertClose([analytic[j]], [numeric], { atol: 2e-3, rtol: 2e-2, label: `${layer.type}.${name}[${j}]` });
  }
  param.assign(device.tensor(base, param.shape));
}

const layers =
  (): Layer[] => [relu(), leakyRelu({ alpha: 0.2 }), elu({ alpha: 0.7 }), prelu(), maxout({ pieces: 2 })];

Deno.test("activation layers are registered under their type and keep the user's options", () => {
  const registry = new Registry().use(activations);
  for (const layer of layers()) assert.equal(registry.layer(layer.type)(layer.options).type, layer.type);
  assert.deepEqual(leakyRelu({ alpha: 0.2 }).options, { alpha: 0.2 });
  assert.deepEqual(elu().options, {});
  assert.deepEqual(maxout({ pieces: 3 }).options, { pieces: 3 });
});

Deno.test("activation layers' forward equals the functional op", () => {
  const x = device.tensor(spread([2, 4, 3, 3]).values, [2, 4, 3, 3]);
  const slopes = device.fill([4], 0.25);
  const expected = [
    functional.relu(x),
    functional.leakyRelu(x, { alpha: 0.2 }),
    functional.elu(x, { alpha: 0.7 }),
    functional.prelu(x, slopes),
    functional.maxout(x, { pieces: 2 }),
  ];
  layers().forEach((layer, i) => {
    layer.build?.(x.shape, { device, rng });
    const y = layer.forward(x, ctx);
    assert.deepEqual(y.shape, layer.outputShape(x.shape), layer.type);
    assert.deepEqual([...y.dataSync()], [...expected[i].dataSync()], layer.type);
  });
});

Deno.test("activation layers' input gradients match central differences", () => {
  for (const shape of [[2, 4, 2, 3], [3, 6]]) {
    for (const layer of layers()) {
      layer.build?.(shape, { device, rng });
      checkGradients(device, (x) => layer.forward(x, ctx), [spread(shape)], {
        rng,
        label: `${layer.type} ${shape}`,
      });
    }
  }
});

Deno.test("prelu layer: alpha is [channels] of 0.25 and its gradient matches central differences", () => {
  for (const shape of [[2, 3, 2, 2], [4, 5]]) {
    const layer = prelu();
    layer.build!(shape, { device, rng });
    const alpha = layer.parameters().get("alpha")!;
    assert.deepEqual(alpha.shape, [shape[1]]);
    assert.ok(alpha.dataSync().every((v) => v === 0.25));
    alpha.assign(device.tensor(uniform(rng, shape[1], 0.1, 0.5), [shape[1]]));
    checkParameterGradient(layer, device.tensor(spread(shape).values, shape), "alpha");
  }
});

Deno.test("prelu layer refuses to run before build, and has no parameters then", () => {
  const layer = prelu();
  assert.equal(layer.parameters().size, 0);
  assert.throws(() => layer.forward(device.zeros([1, 2]), ctx), /prelu: its slopes are not built/);
});

Deno.test("activation layers reject inputs that do not fit, from outputShape", () => {
  assert.throws(
    () => prelu().outputShape([5]),
    (e) => e instanceof TypeError && /prelu to input \[5\]/.test(e.message),
  );
  assert.throws(() => maxout({ pieces: 2 }).outputShape([4, 5]), /maxout with pieces 2 to input \[4,5\]/);
  assert.throws(() => relu().outputShape([]), TypeError);
  assert.throws(() => relu().outputShape([[1, 2], [1, 2]]), /relu to 2 inputs/);
  assert.throws(() => maxout({ pieces: 0 }), RangeError);
});
