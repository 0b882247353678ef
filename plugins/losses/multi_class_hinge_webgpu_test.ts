import { type Device, gradients, Registry, Rng, type Tensor, tidy } from "@cnnlab/core";
import { assertClose, matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import losses, { hingeL1, hingeL2 } from "./mod.ts";
import { multiClassHingeGradOp, multiClassHingeOp } from "./multi_class_hinge_op.ts";

const rng = new Rng(42);
const labelsFor = (n: number, k: number) => Float32Array.from({ length: n }, () => rng.int(k));
/** Scores in [−2, 2) with some exactly at the kinks ±1. */
function scoresWithKinks(n: number, k: number): Float32Array {
  const s = uniform(rng, n * k, -2, 2);
  for (let i = 0; i < s.length; i += 4) s[i] = rng.next() < 0.5 ? -1 : 1;
  return s;
}
const cases: [number, number][] = [[1, 1], [1, 3], [5, 10], [16, 7], [3, 300], [300, 4]];

Deno.test(
  { name: "multiClassHingeWebgpu and its gradient kernel agree with their references", ...gpuTest },
  async () => {
    const device = await webgpuDevice([cpu, losses]);
    for (const p of [1, 2] as const) {
      for (const [n, k] of cases) {
        const scores = { values: scoresWithKinks(n, k), shape: [n, k] };
        const labels = { values: labelsFor(n, k), shape: [n] };
        await matchesReference(device, multiClassHingeOp, [scores, labels], { p }, {
          atol: 1e-4,
          rtol: 1e-4,
        });
        const dy = { values: Float32Array.of(-0.75), shape: [1] };
        await matchesReference(device, multiClassHingeGradOp, [scores, labels, dy], { p }, {
          atol: 1e-7,
          rtol: 1e-5,
        });
      }
    }
  },
);

/** The loss and its gradient with respect to the scores, read back. */
async function lossAndGradient(
  device: Device,
  p: 1 | 2,
  scores: Float32Array,
  labels: Float32Array,
  k: number,
) {
  const n = labels.length;
  const [loss, grad] = tidy((): Tensor[] => {
    const x = device.tensor(scores, [n, k]);
    x.requiresGrad = true;
    const loss = (p === 1 ? hingeL1 : hingeL2)({}).compute(x, device.tensor(labels, [n]));
    return [loss, ...gradients(loss, [x])];
  });
  return [await loss.data(), await grad.data()];
}

Deno.test({
  name: "hingeL1 and hingeL2 losses and their gradients on WebGPU equal those on the CPU",
  ...gpuTest,
}, async () => {
  const gpu = await webgpuDevice([cpu, losses]);
  const host = await new Registry().use(cpu).use(losses).device("cpu");
  for (const p of [1, 2] as const) {
    const [n, k] = [8, 10];
    const scores = uniform(rng, n * k, -2, 2), labels = labelsFor(n, k);
    const [gotLoss, gotGrad] = await lossAndGradient(gpu, p, scores, labels, k);
    const [wantLoss, wantGrad] = await lossAndGradient(host, p, scores, labels, k);
    assertClose(gotLoss, wantLoss, { atol: 1e-5, rtol: 1e-5, label: `hingeL${p} loss` });
    assertClose(gotGrad, wantGrad, { atol: 1e-7, rtol: 1e-5, label: `hingeL${p} gradient` });
  }
});

Deno.test({
  name: "hingeL2 loss on WebGPU rejects a fractional label in ctx.labels before any kernel runs",
  ...gpuTest,
}, async () => {
  const device = await webgpuDevice([cpu, losses]);
  const labels = Float32Array.of(0.5, 1);
  assert.throws(
    () =>
      hingeL2({}).compute(device.fill([2, 3], 0), device.tensor(labels, [2]), {
        training: false,
        rng,
        labels,
      }),
    (e) => e instanceof RangeError && /hingeL2: label 0.5 of example 0/.test(e.message),
  );
});
