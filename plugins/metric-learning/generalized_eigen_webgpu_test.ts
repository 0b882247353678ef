import { definePlugin, type Device, gradients, ops, Registry, Rng, type Tensor, tidy } from "@cnnlab/core";
import { assertClose, matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import {
  generalizedEigenOps,
  generalizedEigenvalues,
  generalizedEigenvaluesGrad,
  generalizedEigenvaluesGradOp,
  generalizedEigenvaluesOp,
} from "./generalized_eigen.ts";
import { generalizedEigenvaluesCpu, generalizedEigenvaluesGradCpu } from "./generalized_eigen_cpu.ts";
import { generalizedEigenWebgpuKernels } from "./generalized_eigen_webgpu.ts";

const plugin = definePlugin({
  name: "@test/generalized-eigen",
  version: "0.0.0",
  provides: { ops: generalizedEigenOps },
  kernels: [generalizedEigenvaluesCpu, generalizedEigenvaluesGradCpu, ...generalizedEigenWebgpuKernels],
});
const rng = new Rng(51);
let gpuDevice: Promise<Device> | undefined;
const gpu = () => gpuDevice ??= webgpuDevice([cpu, plugin]);

/** Row-major A·Bᵀ of d×d matrices in float64. */
function timesTransposed(a: ArrayLike<number>, b: ArrayLike<number>, d: number): Float64Array {
  const c = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a[i * d + k] * b[j * d + k];
      c[i * d + j] = s;
    }
  }
  return c;
}

/** A well-conditioned random SPD matrix A Aᵀ/d + I (condition number below about 5). */
function randomSpd(d: number): Float32Array {
  const a = uniform(rng, d * d);
  return Float32Array.from(timesTransposed(a, a, d), (v, k) => v / d + (k % (d + 1) === 0 ? 1 : 0));
}

/** A random symmetric matrix with entries in [−2, 2). */
function randomSymmetric(d: number): Float32Array {
  const a = uniform(rng, d * d, -2, 2);
  return Float32Array.from(a, (_, k) => 0.5 * (a[k] + a[(k % d) * d + Math.floor(k / d)]));
}

/** S_b = Q Λ Qᵀ, S_w = Q Qᵀ for a well-conditioned random Q: the generalized eigenvalues are Λ. */
function withKnownEigenvalues(lambda: readonly number[]) {
  const d = lambda.length;
  const q = uniform(rng, d * d, -0.3 / Math.sqrt(d), 0.3 / Math.sqrt(d));
  for (let i = 0; i < d; i++) q[i * d + i] += 1;
  const ql = Float64Array.from(q, (v, k) => v * lambda[k % d]);
  return {
    sb: Float32Array.from(timesTransposed(ql, q, d)),
    sw: Float32Array.from(timesTransposed(q, q, d)),
  };
}

/** d eigenvalues from −2 upwards, at least 0.25 apart. */
const spaced = (d: number) => Array.from({ length: d }, (_, i) => -2 + 0.25 * i + 0.1 * rng.next());

Deno.test({
  name: "generalizedEigenvaluesWebgpu agrees with the reference on random well-conditioned pairs, d = 1 … 64",
  ...gpuTest,
}, async () => {
  const device = await gpu();
  for (const d of [1, 2, 3, 5, 8, 16, 17, 33, 64]) {
    const sb = { values: randomSymmetric(d), shape: [d, d] };
    const sw = { values: randomSpd(d), shape: [d, d] };
    await matchesReference(device, generalizedEigenvaluesOp, [sb, sw], {}, { atol: 2e-4, rtol: 1e-3 });
  }
});

Deno.test({
  name:
    "generalizedEigenvaluesGradWebgpu agrees with the reference where eigenvalues are separated, d = 1 … 64",
  ...gpuTest,
}, async () => {
  const device = await gpu();
  for (const d of [1, 2, 4, 7, 16, 30, 64]) {
    const { sb, sw } = withKnownEigenvalues(spaced(d));
    const inputs = [
      { values: sb, shape: [d, d] },
      { values: sw, shape: [d, d] },
      { values: uniform(rng, d), shape: [d] },
    ];
    await matchesReference(device, generalizedEigenvaluesGradOp, inputs, {}, { atol: 1e-4, rtol: 1e-3 });
  }
});

Deno.test({
  name: "generalizedEigenvaluesWebgpu recovers known eigenvalues, ascending, for d = 64",
  ...gpuTest,
}, async () => {
  const device = await gpu();
  const lambda = spaced(64).map((v) => v * 3);
  const { sb, sw } = withKnownEigenvalues(rng.shuffle(lambda.slice()));
  const got = await generalizedEigenvalues(device.tensor(sb, [64, 64]), device.tensor(sw, [64, 64])).data();
  assertClose(got, lambda.sort((a, b) => a - b), { atol: 1e-3, rtol: 1e-3 });
});

Deno.test(
  { name: "generalizedEigenvaluesWebgpu handles repeated eigenvalues and a 1×1 pair", ...gpuTest },
  async () => {
    const device = await gpu();
    const eye = device.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1], [3, 3]);
    const twice = await generalizedEigenvalues(device.tensor([2, 0, 0, 0, 2, 0, 0, 0, 2], [3, 3]), eye)
      .data();
    assertClose(twice, [2, 2, 2], { atol: 1e-6 });
    const single = await generalizedEigenvalues(device.tensor([6], [1, 1]), device.tensor([4], [1, 1]))
      .data();
    assertClose(single, [1.5], { atol: 1e-6 });
    // Σ over all eigenvalues with equal weights: V Vᵀ = S_w⁻¹ whatever basis the repeated ones get.
    const g = await generalizedEigenvaluesGrad(
      device.tensor([2, 0, 0, 0, 2, 0, 0, 0, 5], [3, 3]),
      device.tensor([4, 0, 0, 0, 4, 0, 0, 0, 1], [3, 3]),
      device.tensor([1, 1, 1], [3]),
    ).data();
    assertClose(g, [0.25, 0, 0, 0, 0.25, 0, 0, 0, 1], { atol: 1e-6 });
  },
);

Deno.test(
  { name: "generalizedEigenvaluesWebgpu writes NaN where the CPU kernel throws", ...gpuTest },
  async () => {
    const device = await gpu();
    const sb = device.tensor([1, 0, 0, 1], [2, 2]);
    for (const sw of [[1, 2, 2, 1], [0, 0, 0, 0], [-1, 0, 0, 1], [1, 0, 0, NaN]]) {
      const w = device.tensor(sw, [2, 2]);
      const values = await generalizedEigenvalues(sb, w).data();
      assert.ok(values.every(Number.isNaN), `values for sw = [${sw}]: ${values}`);
      const g = await generalizedEigenvaluesGrad(sb, w, device.tensor([1, 1], [2])).data();
      assert.ok(g.every(Number.isNaN), `gradient for sw = [${sw}]: ${g}`);
    }
    const eye = device.tensor([1, 0, 0, 1], [2, 2]);
    for (const bad of [[1, Infinity, Infinity, 1], [NaN, 0, 0, 1], [1, 0, 0, -Infinity]]) {
      const values = await generalizedEigenvalues(device.tensor(bad, [2, 2]), eye).data();
      assert.ok(values.every(Number.isNaN), `values for sb = [${bad}]: ${values}`);
    }
  },
);

Deno.test(
  { name: "generalizedEigenvaluesWebgpu refuses matrices above 64×64 with a RangeError", ...gpuTest },
  async () => {
    const device = await gpu();
    const big = device.zeros([65, 65]);
    assert.throws(
      () => generalizedEigenvalues(big, big),
      (e) => e instanceof RangeError && /generalizedEigenvalues.*65×65.*--backend cpu/.test(e.message),
    );
  },
);

/** λ and the gradients of Σ r·λ with respect to S_b and S_w (through symmetrisations), read back. */
async function eigenAndGradients(
  device: Device,
  a: Float32Array,
  b: Float32Array,
  r: Float32Array,
  d: number,
) {
  const ts = tidy((): Tensor[] => {
    const at = device.tensor(a, [d, d]), bt = device.tensor(b, [d, d]);
    at.requiresGrad = bt.requiresGrad = true;
    // S_b = (A + Aᵀ)/2 and S_w = B Bᵀ: the gradient flows through primitives as in the LDA loss.
    const sb = ops.scale(ops.add(at, ops.transpose(at, { perm: [1, 0] })), 0.5);
    const sw = ops.matmul(bt, bt, { transposeB: true });
    const lambda = generalizedEigenvalues(sb, sw);
    return [lambda, ...gradients(ops.sum(ops.mul(lambda, device.tensor(r, [d]))), [at, bt])];
  });
  return await Promise.all(ts.map((t) => t.data()));
}

Deno.test(
  { name: "generalizedEigenvalues and its gradients on WebGPU equal those on the CPU", ...gpuTest },
  async () => {
    const gpuDev = await gpu();
    const host = await new Registry().use(cpu).use(plugin).device("cpu");
    for (const d of [3, 12]) {
      const { sb } = withKnownEigenvalues(spaced(d));
      const b = uniform(rng, d * d, -0.2, 0.2).map((v, k) => v + (k % (d + 1) === 0 ? 1 : 0));
      const r = uniform(rng, d);
      const got = await eigenAndGradients(gpuDev, sb, b, r, d);
      const want = await eigenAndGradients(host, sb, b, r, d);
      ["λ", "d/dA", "d/dB"].forEach((label, i) =>
        assertClose(got[i], want[i], { atol: 2e-4, rtol: 1e-3, label: `d=${d} ${label}` })
      );
    }
  },
);
