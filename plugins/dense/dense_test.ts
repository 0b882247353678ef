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
import { tf } from "../../tests/tfjs.ts";
import { dense, resolveDenseOptions } from "./dense.ts";

const device = await new Registry().use(cpu).device("cpu");
const rng = new Rng(21);
const ctx = { training: true, rng: new Rng(0) };
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);
const arg = (shape: Shape) => ({ values: uniform(rng, size(shape)), shape });

/** Builds a dense layer and replaces its zero bias with random values, so the bias add is visible. */
function built(inShape: Shape, units: number, bias = true): Layer {
  const layer = dense({ units, bias });
  layer.build!(inShape, { device, rng });
  const b = layer.parameters().get("bias");
  b?.assign(device.tensor(uniform(rng, units), [units]));
  return layer;
}

/** Central differences of Σ forward(x)·r with respect to one parameter, perturbed in place through `assign`. */
function checkParameterGradient(layer: Layer, x: Tensor, name: string, maxChecks = 40): void {
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
  const indices = base.length <= maxChecks
    ? [...base.keys()]
    : Array.from({ length: maxChecks }, () => rng.int(base.length));
  for (const j of indices) {
    const numeric = (at(j, base[j] + eps) - at(j, base[j] - eps)) / (2 * eps);
    assertClose([analytic[j]], [numeric], { atol: 2e-3, rtol: 2e-2, label: `${layer.type}.${name}[${j}]` });
  }
  param.assign(device.tensor(base, param.shape));
}

Deno.test("dense() forward equals tf.matMul plus bias", () => {
  const layer = built([5, 7], 4);
  const x = arg([5, 7]);
  const w = layer.parameters().get("weight")!, b = layer.parameters().get("bias")!;
  const got = tidy(() => layer.forward(device.tensor(x.values, x.shape), ctx).dataSync());
  const want = tf.tidy(() =>
    tf.add(
      tf.matMul(tf.tensor(x.values, [5, 7]), tf.tensor(w.dataSync(), [7, 4])),
      tf.tensor(b.dataSync(), [4]),
    )
      .dataSync()
  );
  assertClose(got, want, { atol: 1e-5 });
});

Deno.test("dense({ bias: false }) has only a weight and computes x·W (naive loop)", () => {
  const layer = built([3, 6], 5, false);
  assert.deepEqual([...layer.parameters().keys()], ["weight"]);
  const x = arg([3, 6]), w = layer.parameters().get("weight")!.dataSync();
  const want = new Float32Array(15);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 5; j++) {
      for (let k = 0; k < 6; k++) want[i * 5 + j] += x.values[i * 6 + k] * w[k * 5 + j];
    }
  }
  assertClose(tidy(() => layer.forward(device.tensor(x.values, x.shape), ctx).dataSync()), want, {
    atol: 1e-5,
  });
});

Deno.test("dense() weights are He-normal [in, units] from the build RNG and the bias is zeros", () => {
  const [inF, units] = [200, 100];
  const make = (seed: number) => {
    const layer = dense({ units });
    layer.build!([1, inF], { device, rng: new Rng(seed) });
    return layer.parameters();
  };
  const params = make(3);
  const w = params.get("weight")!, b = params.get("bias")!;
  assert.deepEqual([w.shape, b.shape], [[inF, units], [units]]);
  assert.ok(b.dataSync().every((v) => v === 0));
  const values = w.dataSync();
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
  assert.ok(Math.abs(mean) < 0.005, `mean ${mean}`);
  assert.ok(Math.abs(std / Math.sqrt(2 / inF) - 1) < 0.03, `std ${std}`);
  assert.deepEqual(make(3).get("weight")!.dataSync(), values);
  assert.notDeepEqual(make(4).get("weight")!.dataSync(), values);
});

Deno.test("dense() gradients with respect to x, weight and bias match central differences", () => {
  for (const bias of [true, false]) {
    const layer = built([4, 6], 3, bias);
    checkGradients(device, (x) => layer.forward(x, ctx), [arg([4, 6])], {
      rng,
      label: `dense dx bias=${bias}`,
    });
    const x = device.tensor(arg([4, 6]).values, [4, 6]);
    checkParameterGradient(layer, x, "weight");
    if (bias) checkParameterGradient(layer, x, "bias");
  }
});

Deno.test("dense() counts 2·n·in·units FLOPs", () => {
  assert.equal(dense({ units: 120 }).flops!([8, 400]), 2 * 8 * 400 * 120);
});

Deno.test("dense() rejects a non-2-D input naming flatten, and bad options", () => {
  assert.throws(
    () => dense({ units: 10 }).outputShape([2, 16, 5, 5]),
    (e) => e instanceof TypeError && /dense to input \[2,16,5,5\].*add a flatten layer/.test(e.message),
  );
  assert.throws(() => dense({ units: 10 }).outputShape([16]), TypeError);
  for (const units of [0, -1, 2.5, NaN]) {
    assert.throws(() => dense({ units }), /dense with units .*positive integer/);
  }
  assert.throws(() => resolveDenseOptions({} as { units: number }), RangeError);
  assert.throws(() => dense({ units: 3, bias: "yes" as unknown as boolean }), TypeError);
  const layer = built([2, 4], 3);
  assert.throws(
    () => layer.forward(device.zeros([2, 5]), ctx),
    /dense built for 4 features to input \[2,5\]/,
  );
  assert.throws(() => dense({ units: 3 }).forward(device.zeros([2, 4]), ctx), /weights are not built/);
});
