import { Registry, type Tensor, tidy } from "@cnnlab/core";
import { assertClose } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { tf } from "../../tests/tfjs.ts";
import { resolveSgdOptions, sgd, type SgdOptions } from "./sgd.ts";
import { B0, makeParams, quadraticGradient, train, trainTf, W0 } from "./testdata/quadratic.ts";

const device = await new Registry().use(cpu).device("cpu");

/** PyTorch's SGD written out in float64 on the quadratic, independent of the optimizer's code. */
function pytorchSgd(
  o: { lr: number; momentum: number; nesterov: boolean; weightDecay: number },
  steps: number,
) {
  const p = [...W0, ...B0], v = p.map(() => 0);
  for (let s = 0; s < steps; s++) {
    const { w, b } = quadraticGradient(p.slice(0, 6), p.slice(6));
    const raw = [...w, ...b];
    for (let i = 0; i < p.length; i++) {
      const g = raw[i] + o.weightDecay * p[i];
      v[i] = o.momentum * v[i] + g;
      const d = o.momentum === 0 ? g : o.nesterov ? g + o.momentum * v[i] : v[i];
      p[i] -= o.lr * d;
    }
  }
  return p;
}

const values = (
  params: Map<string, Tensor>,
) => [...params.get("W")!.dataSync(), ...params.get("b")!.dataSync()];

Deno.test("sgd() plain steps match tf.train.sgd on a quadratic", () => {
  const params = makeParams(device);
  train(sgd({ lr: 0.1 }), params, 6);
  const want = trainTf(tf.train.sgd(0.1), 6);
  assertClose(values(params), [...want.w, ...want.b], { atol: 1e-6 });
});

// tfjs's momentum optimizer accumulates like PyTorch (v ← μv + g; p ← p − lr·v, or p − lr·(g + μv)
// for Nesterov), so with a constant rate it is a direct oracle; it has no weight decay.
Deno.test("sgd() with momentum matches tf.train.momentum on a quadratic", () => {
  const params = makeParams(device);
  train(sgd({ lr: 0.05, momentum: 0.9 }), params, 8);
  const want = trainTf(tf.train.momentum(0.05, 0.9), 8);
  assertClose(values(params), [...want.w, ...want.b], { atol: 1e-6 });
});

Deno.test("sgd() with Nesterov momentum matches tf.train.momentum(useNesterov) and the PyTorch formula", () => {
  const params = makeParams(device);
  train(sgd({ lr: 0.05, momentum: 0.8, nesterov: true }), params, 8);
  const want = trainTf(tf.train.momentum(0.05, 0.8, true), 8);
  assertClose(values(params), [...want.w, ...want.b], { atol: 1e-6 });
  assertClose(values(params), pytorchSgd({ lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 0 }, 8), {
    atol: 1e-6,
  });
});

Deno.test("sgd() with weight decay matches the PyTorch formula, with and without (Nesterov) momentum", () => {
  const cases: Required<Omit<SgdOptions, "schedule">>[] = [
    { lr: 0.1, momentum: 0, nesterov: false, weightDecay: 0.05 },
    { lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 0.01 },
    { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1 },
  ];
  for (const o of cases) {
    const params = makeParams(device);
    train(sgd(o), params, 7);
    assertClose(values(params), pytorchSgd(o, 7), { atol: 1e-6, label: JSON.stringify(o) });
  }
});

Deno.test("sgd() Nesterov with weight decay: two steps worked by hand", () => {
  // p = 1, g = 2 each step, lr 0.1, μ 0.9, wd 0.1.
  // Step 1: g' = 2 + 0.1·1 = 2.1; v = 2.1; step = 2.1 + 0.9·2.1 = 3.99; p = 1 − 0.399 = 0.601.
  // Step 2: g' = 2 + 0.0601 = 2.0601; v = 0.9·2.1 + 2.0601 = 3.9501; step = 2.0601 + 0.9·3.9501 = 5.61519;
  //         p = 0.601 − 0.561519 = 0.039481.
  const opt = sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.1 });
  const p = device.tensor([1], [1]);
  const step = () => tidy(() => opt.step(new Map([["p", p]]), new Map([["p", device.tensor([2], [1])]])));
  step();
  assertClose(p.dataSync(), [0.601]);
  assertClose(opt.state().tensors.get("p/momentum")!.dataSync(), [2.1]);
  step();
  assertClose(p.dataSync(), [0.039481]);
  assertClose(opt.state().tensors.get("p/momentum")!.dataSync(), [3.9501]);
});

Deno.test("sgd() with momentum minimises a quadratic", () => {
  const params = makeParams(device);
  const opt = sgd({ lr: 0.1, momentum: 0.9 });
  const first = train(opt, params, 1);
  const last = train(opt, params, 150);
  assert.ok(first > 1 && last < 1e-6, `loss went from ${first} to ${last}`);
});

Deno.test("sgd() keeps its momentum tensors alive through tidy scopes and reuses them across steps", () => {
  const opt = sgd({ lr: 0.1, momentum: 0.5 });
  const params = makeParams(device);
  train(opt, params, 1);
  const before = [...opt.state().tensors.values()];
  train(opt, params, 3);
  const after = [...opt.state().tensors.values()];
  assert.deepEqual([...opt.state().tensors.keys()], ["W/momentum", "b/momentum"]);
  assert.equal(before.length, 2);
  for (let i = 0; i < 2; i++) assert.ok(after[i] === before[i] && !after[i].disposed);
  assert.ok([...params.values()].every((p) => !p.disposed));
  assert.deepEqual(opt.state().scalars, { step: 4 });
});

Deno.test("sgd() without momentum keeps no state tensors", () => {
  const opt = sgd({ lr: 0.1 });
  train(opt, makeParams(device), 2);
  assert.equal(opt.state().tensors.size, 0);
  assert.deepEqual(opt.state().scalars, { step: 2 });
});

Deno.test("sgd() state round trip: a restored optimizer continues exactly like the original", () => {
  const a = sgd({ lr: 0.05, momentum: 0.9, nesterov: true });
  const pa = makeParams(device);
  train(a, pa, 3);
  const saved = a.state();
  // As a checkpoint would: copy values out and back into fresh tensors.
  const b = sgd({ lr: 0.05, momentum: 0.9, nesterov: true });
  b.loadState({
    tensors: new Map([...saved.tensors].map(([n, t]) => [n, device.tensor(t.dataSync(), t.shape)])),
    scalars: { ...saved.scalars },
  });
  assert.deepEqual(b.state().scalars, { step: 3 });
  const pb = new Map([...pa].map(([n, t]) => [n, device.tensor(t.dataSync(), t.shape)]));
  train(a, pa, 2);
  train(b, pb, 2);
  assert.deepEqual(values(pb), values(pa));
});

Deno.test("sgd().loadState() rejects foreign names, wrong shapes and a bad step count", () => {
  const opt = sgd({ lr: 0.1, momentum: 0.9 });
  const params = makeParams(device);
  const wrongShape = { tensors: new Map([["b/momentum", device.zeros([4])]]), scalars: { step: 1 } };
  opt.loadState(wrongShape); // no state yet: the shape is checked at the next step
  assert.throws(
    () => train(opt, params, 1),
    (e) => e instanceof TypeError && /"b\/momentum".*\[4\].*"b".*\[3\]/.test(e.message),
  );
  assert.deepEqual(values(params), [...W0, ...B0].map(Math.fround), "a failed step changes no parameter");
  const ok = sgd({ lr: 0.1, momentum: 0.9 });
  train(ok, params, 1);
  assert.throws(
    () => ok.loadState(wrongShape),
    (e) => e instanceof TypeError && /sgd.*"b\/momentum"/.test(e.message),
  );
  assert.throws(
    () => ok.loadState({ tensors: new Map([["W/m", device.zeros([2, 3])]]), scalars: { step: 1 } }),
    RangeError,
  );
  assert.throws(() => ok.loadState({ tensors: new Map(), scalars: {} }), /sgd.*"step"/);
  assert.throws(
    () =>
      sgd({}).loadState({ tensors: new Map([["W/momentum", device.zeros([2, 3])]]), scalars: { step: 1 } }),
    /none with these options/,
  );
});

Deno.test("sgd().step() with a missing or misshapen gradient throws and changes nothing", () => {
  const opt = sgd({ lr: 0.1, momentum: 0.9 });
  const params = makeParams(device);
  const grads = new Map([["W", device.fill([2, 3], 1)], ["b", device.fill([2], 1)]]);
  assert.throws(
    () => opt.step(params, grads),
    (e) => e instanceof TypeError && /sgd.*"b".*\[2\].*\[3\]/.test(e.message),
  );
  assert.throws(() => opt.step(params, new Map([["W", device.fill([2, 3], 1)]])), /no gradient.*"b"/);
  assert.deepEqual(values(params), [...W0, ...B0].map(Math.fround));
  assert.equal(opt.state().tensors.size, 0);
});

Deno.test("resolveSgdOptions() rejects bad values with a RangeError naming sgd and the option", () => {
  const bad: [SgdOptions, string][] = [
    [{ lr: 0 }, "lr"],
    [{ lr: -1 }, "lr"],
    [{ lr: NaN }, "lr"],
    [{ lr: "0.1" as never }, "lr"],
    [{ momentum: 1 }, "momentum"],
    [{ momentum: -0.1 }, "momentum"],
    [{ nesterov: true }, "nesterov"],
    [{ momentum: 0.9, nesterov: "yes" as never }, "nesterov"],
    [{ weightDecay: -1e-4 }, "weightDecay"],
    [{ learningRate: 0.1 } as never, "learningRate"],
    [{ schedule: { type: "step", stepSize: 0 } }, "schedule.stepSize"],
  ];
  for (const [options, key] of bad) {
    assert.throws(
      () => sgd(options),
      (e) => e instanceof RangeError && e.message.includes("optimizer sgd") && e.message.includes(`"${key}"`),
      JSON.stringify(options),
    );
  }
  assert.throws(() => resolveSgdOptions(null as never), TypeError);
});
