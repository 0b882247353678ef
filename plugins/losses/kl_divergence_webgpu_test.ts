import { type Device, gradients, Registry, Rng, type Tensor, tidy } from "@cnnlab/core";
import { assertClose, matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import losses, { klDivergence } from "./mod.ts";
import { klDivergenceGradOp, klDivergenceOp } from "./kl_divergence_op.ts";

const rng = new Rng(43);
const labelsFor = (n: number, k: number) => Float32Array.from({ length: n }, () => rng.int(k));
/** Rows summing to 1 (odd rows to 1.0008, inside the 1e-3 tolerance), some entries exactly 0. */
function distributions(n: number, k: number): Float32Array {
  const t = uniform(rng, n * k, 0, 1).map((v) => (v < 0.2 ? 0 : v));
  for (let i = 0; i < n; i++) {
    const row = t.subarray(i * k, (i + 1) * k);
    if (row.every((v) => v === 0)) row[0] = 1;
    const s = row.reduce((a, b) => a + b, 0);
    for (let j = 0; j < k; j++) row[j] *= (i % 2 ? 1.0008 : 1) / s;
  }
  return t;
}
const cases: [number, number][] = [[1, 1], [1, 3], [5, 10], [16, 7], [3, 300], [300, 4]];

Deno.test(
  { name: "klDivergenceWebgpu and its gradient kernel agree with their references", ...gpuTest },
  async () => {
    const device = await webgpuDevice([cpu, losses]);
    for (const labelSmoothing of [0, 0.1]) {
      for (const [n, k] of cases) {
        const logits = { values: uniform(rng, n * k, -4, 4), shape: [n, k] };
        const dy = { values: Float32Array.of(2), shape: [] };
        for (
          const targets of [
            { values: labelsFor(n, k), shape: [n] },
            { values: distributions(n, k), shape: [n, k] },
          ]
        ) {
          const attrs = { labelSmoothing };
          await matchesReference(device, klDivergenceOp, [logits, targets], attrs, {
            atol: 1e-4,
            rtol: 1e-4,
          });
          await matchesReference(device, klDivergenceGradOp, [logits, targets, dy], attrs, {
            atol: 1e-6,
            rtol: 1e-4,
          });
        }
      }
    }
  },
);

/** The loss and its gradients with respect to the logits (and to `[n, k]` targets), read back. */
async function lossAndGradients(device: Device, logits: Float32Array, targets: Float32Array, k: number) {
  const n = logits.length / k;
  const rows = targets.length === n * k;
  const ts = tidy((): Tensor[] => {
    const x = device.tensor(logits, [n, k]);
    const t = device.tensor(targets, rows ? [n, k] : [n]);
    x.requiresGrad = true;
    t.requiresGrad = rows;
    const loss = klDivergence({ labelSmoothing: 0.1 }).compute(x, t);
    return [loss, ...gradients(loss, rows ? [x, t] : [x])];
  });
  return await Promise.all(ts.map((t) => t.data()));
}

Deno.test(
  { name: "klDivergence loss and its gradients on WebGPU equal those on the CPU", ...gpuTest },
  async () => {
    const gpu = await webgpuDevice([cpu, losses]);
    const host = await new Registry().use(cpu).use(losses).device("cpu");
    const [n, k] = [6, 9];
    const logits = uniform(rng, n * k, -3, 3);
    for (const targets of [labelsFor(n, k), distributions(n, k)]) {
      const got = await lossAndGradients(gpu, logits, targets, k);
      const want = await lossAndGradients(host, logits, targets, k);
      assert.equal(got.length, targets.length === n ? 2 : 3);
      want.forEach((w, i) => assertClose(got[i], w, { atol: 1e-5, rtol: 1e-4, label: `output ${i}` }));
    }
  },
);

Deno.test(
  { name: "klDivergence loss on WebGPU checks ctx.labels only for class-index targets", ...gpuTest },
  async () => {
    const device = await webgpuDevice([cpu, losses]);
    const labels = Float32Array.of(2, -1);
    const ctx = { training: true, rng, labels };
    assert.throws(
      () => klDivergence({}).compute(device.fill([2, 3], 0), device.tensor(labels, [2]), ctx),
      (e) => e instanceof RangeError && /klDivergence: label -1 of example 1/.test(e.message),
    );
    // With distribution targets, ctx.labels does not describe them and is not checked.
    const loss = klDivergence({}).compute(device.fill([2, 3], 0), device.fill([2, 3], 1 / 3), ctx);
    assert.ok(Math.abs(await loss.item()) < 1e-6);
  },
);
