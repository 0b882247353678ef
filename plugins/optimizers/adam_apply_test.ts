import { Registry, Rng } from "@cnnlab/core";
import { assertClose, checkAgainstReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import optimizers from "./mod.ts";
import { adamApply, type AdamApplyAttrs, adamApplyOp } from "./adam_apply.ts";

const device = await new Registry().use(cpu).use(optimizers).device("cpu");
const rng = new Rng(4);
const attrCases: AdamApplyAttrs[] = [
  { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1 },
  { lr: 0.05, beta1: 0.8, beta2: 0.99, epsilon: 1e-3, step: 17 },
  { lr: 0.3, beta1: 0, beta2: 0, epsilon: 0.5, step: 2 },
];

Deno.test("adamApply() matches p − lr·m̂/(√v̂ + ε) written as a loop", () => {
  for (const a of attrCases) {
    const p = uniform(rng, 40, -1, 1), m = uniform(rng, 40, -1, 1), v = uniform(rng, 40, 0, 2);
    const want = new Float32Array(40);
    for (let i = 0; i < 40; i++) {
      const mHat = m[i] / (1 - a.beta1 ** a.step), vHat = v[i] / (1 - a.beta2 ** a.step);
      want[i] = p[i] - a.lr * mHat / (Math.sqrt(vHat) + a.epsilon);
    }
    const t = (x: Float32Array) => device.tensor(x, [8, 5]);
    assertClose(adamApply([t(p), t(m), t(v)], a).dataSync(), want, { atol: 1e-6, rtol: 1e-5 });
  }
});

Deno.test("adamApply CPU kernel agrees with its reference", () => {
  for (const attrs of attrCases) {
    const arg = (lo: number) => ({ values: uniform(rng, 2 * 9, lo, 2), shape: [2, 9] });
    checkAgainstReference(device, adamApplyOp, [arg(-2), arg(-2), arg(0)], attrs, { atol: 1e-5 });
  }
});

Deno.test("adamApply() rejects inputs of different shapes and out-of-range attributes", () => {
  const z = device.zeros([4]);
  assert.throws(
    () => adamApply([z, device.zeros([2, 2]), z], attrCases[0]),
    (e: Error) => e instanceof TypeError && /p, m and v must share one shape/.test(e.message),
  );
  for (const bad of [{ step: 0 }, { step: 1.5 }, { beta1: 1 }, { beta2: -0.1 }, { lr: 0 }, { epsilon: 0 }]) {
    assert.throws(() => adamApply([z, z, z], { ...attrCases[0], ...bad }), RangeError, JSON.stringify(bad));
  }
});
