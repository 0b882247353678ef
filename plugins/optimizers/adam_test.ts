import { Registry, type Tensor } from "@cnnlab/core";
import { assertClose } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import { adam, type AdamOptions, resolveAdamOptions } from "./adam.ts";
import { B0, makeParams, quadraticGradient, train, trainTf, W0 } from "./testdata/quadratic.ts";

const device = await new Registry().use(cpu).device("cpu");
const values = (
  params: Map<string, Tensor>,
) => [...params.get("W")!.dataSync(), ...params.get("b")!.dataSync()];

/** PyTorch's Adam (L2 weight decay in the gradient) written out in float64 on the quadratic. */
function pytorchAdam(o: Required<Omit<AdamOptions, "schedule">>, steps: number): number[] {
  const p = [...W0, ...B0], m = p.map(() => 0), v = p.map(() => 0);
  for (let t = 1; t <= steps; t++) {
    const { w, b } = quadraticGradient(p.slice(0, 6), p.slice(6));
    const raw = [...w, ...b];
    for (let i = 0; i < p.length; i++) {
      const g = raw[i] + o.weightDecay * p[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const mHat = m[i] / (1 - o.beta1 ** t), vHat = v[i] / (1 - o.beta2 ** t);
      p[i] -= (o.lr * mHat) / (Math.sqrt(vHat) + o.epsilon);
    }
  }
  return p;
}

Deno.test("adam() steps match tf.train.adam on a quadratic", () => {
  for (const [lr, beta1, beta2, epsilon] of [[0.01, 0.9, 0.999, 1e-8], [0.1, 0.5, 0.9, 1e-3]]) {
    const params = makeParams(device);
    train(adam({ lr, beta1, beta2, epsilon }), params, 6);
    const want = trainTf(tf.train.adam(lr, beta1, beta2, epsilon), 6);
    assertClose(values(params), [...want.w, ...want.b], { atol: 1e-6, label: `adam lr=${lr}` });
  }
});

Deno.test("adam() with weight decay matches the PyTorch formula", () => {
  const o = { lr: 0.05, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0.1 };
  const params = makeParams(device);
  train(adam(o), params, 7);
  assertClose(values(params), pytorchAdam(o, 7), { atol: 1e-6 });
});

Deno.test("adam() first step worked by hand: bias correction makes it lr·sign(g)", () => {
  // t = 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², step = lr·g/(|g| + ε).
  const opt = adam({ lr: 0.01 });
  const p = device.tensor([1, -2, 0.5], [3]);
  opt.step(new Map([["p", p]]), new Map([["p", device.tensor([4, -0.25, 1e-3], [3])]]));
  assertClose(p.dataSync(), [1 - 0.01, -2 + 0.01, 0.5 - 0.01 * (1e-3 / (1e-3 + 1e-8))], { atol: 1e-7 });
  assertClose(opt.state().tensors.get("p/m")!.dataSync(), [0.4, -0.025, 1e-4]);
  assertClose(opt.state().tensors.get("p/v")!.dataSync(), [0.016, 0.0000625, 1e-9], { atol: 1e-12 });
});

Deno.test("adam() minimises a quadratic", () => {
  const params = makeParams(device);
  const opt = adam({ lr: 0.05 });
  const first = train(opt, params, 1);
  const last = train(opt, params, 400);
  assert.ok(first > 1 && last < 1e-4, `loss went from ${first} to ${last}`);
});

Deno.test("adam() state round trip: names, step count, and identical continuation", () => {
  const a = adam({ lr: 0.02, weightDecay: 0.01 });
  const pa = makeParams(device);
  train(a, pa, 4);
  const saved = a.state();
  assert.deepEqual([...saved.tensors.keys()], ["W/m", "W/v", "b/m", "b/v"]);
  assert.deepEqual(saved.scalars, { step: 4 });
  const b = adam({ lr: 0.02, weightDecay: 0.01 });
  const copies = new Map([...saved.tensors].map(([n, t]) => [n, device.tensor(t.dataSync(), t.shape)]));
  b.loadState({ tensors: copies, scalars: { ...saved.scalars } });
  for (const t of copies.values()) t.dispose(); // the optimizer copied them
  const pb = new Map([...pa].map(([n, t]) => [n, device.tensor(t.dataSync(), t.shape)]));
  train(a, pa, 3);
  train(b, pb, 3);
  assert.deepEqual(values(pb), values(pa));
  assert.deepEqual(b.state().scalars, { step: 7 });
});

Deno.test("adam().loadState() rejects momentum state from sgd and a wrong shape", () => {
  const opt = adam();
  train(opt, makeParams(device), 1);
  assert.throws(
    () => opt.loadState({ tensors: new Map([["W/momentum", device.zeros([2, 3])]]), scalars: { step: 1 } }),
    (e) => e instanceof RangeError && /adam.*"W\/momentum"/.test(e.message),
  );
  assert.throws(
    () => opt.loadState({ tensors: new Map([["W/v", device.zeros([6])]]), scalars: { step: 1 } }),
    (e) => e instanceof TypeError && /"W\/v".*\[6\].*\[2,3\]/.test(e.message),
  );
  assert.throws(() => opt.loadState({ tensors: new Map(), scalars: { step: -1 } }), /adam.*"step"/);
});

Deno.test("resolveAdamOptions() rejects bad values with a RangeError naming adam and the option", () => {
  const bad: [AdamOptions, string][] = [
    [{ lr: 0 }, "lr"],
    [{ beta1: 1 }, "beta1"],
    [{ beta1: -0.1 }, "beta1"],
    [{ beta2: 1.5 }, "beta2"],
    [{ epsilon: 0 }, "epsilon"],
    [{ weightDecay: -1 }, "weightDecay"],
    [{ momentum: 0.9 } as never, "momentum"],
    [{ schedule: { type: "cosine", minLr: 1 } }, "schedule.minLr"],
  ];
  for (const [options, key] of bad) {
    assert.throws(
      () => adam(options),
      (e) =>
        e instanceof RangeError && e.message.includes("optimizer adam") && e.message.includes(`"${key}"`),
      JSON.stringify(options),
    );
  }
  assert.throws(() => resolveAdamOptions([] as never), TypeError);
});
