import { Registry, Rng } from "@cnnlab/core";
import { assertClose, checkAgainstReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import optimizers from "./mod.ts";
import { momentUpdate, type MomentUpdateAttrs, momentUpdateOp } from "./moment_update.ts";

const device = await new Registry().use(cpu).use(optimizers).device("cpu");
const rng = new Rng(3);
const attrCases: MomentUpdateAttrs[] = [
  { decay: 0.9, gain: 0.1, power: 1, weightDecay: 0 },
  { decay: 0.999, gain: 0.001, power: 2, weightDecay: 0 },
  { decay: 0.8, gain: 1, power: 1, weightDecay: 0.05 },
  { decay: 0.99, gain: 0.01, power: 2, weightDecay: 0.3 },
  { decay: 1, gain: -0.1, power: 1, weightDecay: 0 },
];

Deno.test("momentUpdate() matches decay·s + gain·(g + weightDecay·p)^power written as a loop", () => {
  for (const attrs of attrCases) {
    const s = uniform(rng, 50, -1, 1), g = uniform(rng, 50, -2, 2), p = uniform(rng, 50, -1, 1);
    const want = new Float32Array(50);
    for (let i = 0; i < 50; i++) {
      const d = g[i] + attrs.weightDecay * p[i];
      want[i] = attrs.decay * s[i] + attrs.gain * (attrs.power === 2 ? d * d : d);
    }
    const t = (v: Float32Array) => device.tensor(v, [5, 10]);
    assertClose(momentUpdate([t(s), t(g), t(p)], attrs).dataSync(), want, { atol: 1e-6, rtol: 1e-6 });
  }
});

Deno.test("momentUpdate CPU kernel agrees with its reference", () => {
  for (const attrs of attrCases) {
    const arg = () => ({ values: uniform(rng, 3 * 7, -2, 2), shape: [3, 7] });
    checkAgainstReference(device, momentUpdateOp, [arg(), arg(), arg()], attrs, { atol: 1e-6 });
  }
});

Deno.test("momentUpdate() rejects inputs of different shapes and bad attributes", () => {
  const z = device.zeros([2, 3]);
  assert.throws(
    () => momentUpdate([z, device.zeros([3, 2]), z], attrCases[0]),
    (e: Error) => e instanceof TypeError && /s, g and p must share one shape/.test(e.message),
  );
  assert.throws(
    () => momentUpdate([z, z, z], { ...attrCases[0], power: 3 as 2 }),
    (e: Error) => e instanceof RangeError && /power 1 or 2/.test(e.message),
  );
  assert.throws(() => momentUpdate([z, z, z], { ...attrCases[0], decay: NaN }), RangeError);
});
