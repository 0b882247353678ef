import { type Device, gradients, Registry, Rng, type Tensor, tidy } from "@cnnlab/core";
import { assertClose, matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import losses, { softmaxCrossEntropy } from "./mod.ts";
import { softmaxCrossEntropyGradOp, softmaxCrossEntropyOp } from "./softmax_cross_entropy_op.ts";

const rng = new Rng(41);
const labelsFor = (n: number, k: number) => Float32Array.from({ length: n }, () => rng.int(k));
/** Logits in [−5, 5) with every third one at ±1000. */
function logitsWithExtremes(n: number, k: number): Float32Array {
  const x = uniform(rng, n * k, -5, 5);
  for (let i = 0; i < x.length; i += 3) x[i] = rng.next() < 0.5 ? -1000 : 1000;
  return x;
}
// k above the 64 lanes of a row, n above the 256 lanes of the mean pass, and the degenerate 1 × 1.
const cases: [number, number][] = [[1, 1], [1, 3], [5, 10], [16, 7], [3, 300], [300, 4]];

Deno.test({
  name: "softmaxCrossEntropyWebgpu and its gradient kernel agree with their references",
  ...gpuTest,
}, async () => {
  const device = await webgpuDevice([cpu, losses]);
  for (const [n, k] of cases) {
    for (const x of [uniform(rng, n * k, -3, 3), logitsWithExtremes(n, k)]) {
      const logits = { values: x, shape: [n, k] }, labels = { values: labelsFor(n, k), shape: [n] };
      await matchesReference(device, softmaxCrossEntropyOp, [logits, labels], {}, { atol: 1e-4, rtol: 1e-4 });
      const dy = { values: Float32Array.of(1.5), shape: [] };
      await matchesReference(device, softmaxCrossEntropyGradOp, [logits, labels, dy], {}, {
        atol: 1e-6,
        rtol: 1e-4,
      });
    }
  }
});

/** The loss and its gradient with respect to the scores, read back. */
async function lossAndGradient(device: Device, scores: Float32Array, labels: Float32Array, k: number) {
  const n = labels.length;
  const [loss, grad] = tidy((): Tensor[] => {
    const x = device.tensor(scores, [n, k]);
    x.requiresGrad = true;
    const loss = softmaxCrossEntropy({}).compute(x, device.tensor(labels, [n]));
    return [loss, ...gradients(loss, [x])];
  });
  return [await loss.data(), await grad.data()];
}

Deno.test(
  { name: "softmaxCrossEntropy loss and its gradient on WebGPU equal those on the CPU", ...gpuTest },
  async () => {
    const gpu = await webgpuDevice([cpu, losses]);
    const host = await new Registry().use(cpu).use(losses).device("cpu");
    for (const [n, k] of [[8, 10], [2, 130]]) {
      const scores = uniform(rng, n * k, -3, 3), labels = labelsFor(n, k);
      const [gotLoss, gotGrad] = await lossAndGradient(gpu, scores, labels, k);
      const [wantLoss, wantGrad] = await lossAndGradient(host, scores, labels, k);
      assertClose(gotLoss, wantLoss, { atol: 1e-5, rtol: 1e-4, label: "loss" });
      assertClose(gotGrad, wantGrad, { atol: 1e-6, rtol: 1e-4, label: "gradient" });
    }
  },
);

Deno.test({
  name: "softmaxCrossEntropy loss on WebGPU rejects a bad label in ctx.labels before any kernel runs",
  ...gpuTest,
}, async () => {
  const device = await webgpuDevice([cpu, losses]);
  const labels = Float32Array.of(0, 3);
  const ctx = { training: true, rng, labels };
  assert.throws(
    () => softmaxCrossEntropy({}).compute(device.fill([2, 3], 0), device.tensor(labels, [2]), ctx),
    (e) => e instanceof RangeError && /softmaxCrossEntropy: label 3 of example 1/.test(e.message),
  );
  const ok = softmaxCrossEntropy({}).compute(device.fill([2, 4], 0), device.tensor(labels, [2]), ctx);
  assert.ok(Math.abs((await ok.item()) - Math.log(4)) < 1e-6);
});
