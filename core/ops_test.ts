import { gradients, ops, primitiveOps, Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { assertClose, checkAgainstReference, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";

const device = await new Registry().use(cpu).device("cpu");
const rng = new Rng(42);
const arg = (shape: Shape, lo = -1, hi = 1) => ({
  values: uniform(rng, shape.reduce((p, d) => p * d, 1), lo, hi),
  shape,
});

Deno.test("primitive ops: every CPU kernel agrees with the reference on broadcast shapes", () => {
  const bin = [arg([2, 3, 4, 5]), arg([1, 3, 1, 1], 0.5, 2)];
  for (const name of ["add", "sub", "mul", "div", "maximum", "greaterEqual"]) {
    const op = primitiveOps.find((o) => o.name === name)!;
    checkAgainstReference(device, op, bin, {} as never);
    checkAgainstReference(device, op, [arg([3, 1, 5]), arg([4, 1])], {} as never);
  }
  for (const name of ["neg", "exp", "abs", "sign"]) {
    checkAgainstReference(device, primitiveOps.find((o) => o.name === name)!, [arg([3, 7])], {} as never);
  }
  const pos = [arg([3, 7], 0.1, 2)];
  checkAgainstReference(device, primitiveOps.find((o) => o.name === "log")!, pos, {} as never);
  checkAgainstReference(device, primitiveOps.find((o) => o.name === "sqrt")!, pos, {} as never);
  checkAgainstReference(device, ops.powOp, pos, { exponent: 2.5 });
  checkAgainstReference(device, ops.scaleOp, pos, { factor: -3 });
  checkAgainstReference(device, ops.addScalarOp, pos, { value: 0.5 });
  const x = [arg([2, 3, 4, 5])];
  for (const axes of [[0], [1], [3], [0, 2, 3], [1, 2], undefined]) {
    checkAgainstReference(device, ops.sumOp, x, { axes, keepDims: false });
    checkAgainstReference(device, ops.maxOp, x, { axes, keepDims: true });
  }
  checkAgainstReference(device, ops.transposeOp, x, { perm: [0, 2, 3, 1] });
  checkAgainstReference(device, ops.transposeOp, x, { perm: [3, 1, 0, 2] });
  checkAgainstReference(device, ops.broadcastToOp, [arg([3, 1, 1])], { shape: [2, 3, 4, 5] });
  checkAgainstReference(device, ops.reshapeOp, x, { shape: [6, -1] });
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = arg(ta ? [7, 5] : [5, 7]), b = arg(tb ? [9, 7] : [7, 9]);
    checkAgainstReference(device, ops.matmulOp, [a, b], { transposeA: ta, transposeB: tb });
  }
});

Deno.test("matmul() of larger odd sizes matches a naive triple loop written here", () => {
  const [m, n, k] = [37, 53, 29];
  const a = uniform(rng, m * k), b = uniform(rng, k * n);
  const want = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) want[i * n + j] += a[i * k + p] * b[p * n + j];
  }
  const got = tidy(() => ops.matmul(device.tensor(a, [m, k]), device.tensor(b, [k, n])).dataSync());
  assertClose(got, want, { atol: 1e-4 });
});

Deno.test("primitive ops: central-difference gradients", () => {
  const check = (f: Parameters<typeof checkGradients>[1], inputs: ReturnType<typeof arg>[], label: string) =>
    checkGradients(device, f, inputs, { rng, label });
  check((a, b) => ops.add(a, b), [arg([2, 3, 4]), arg([3, 1])], "add");
  check((a, b) => ops.sub(a, b), [arg([2, 3]), arg([2, 3])], "sub");
  check((a, b) => ops.mul(a, b), [arg([2, 3, 4]), arg([1, 3, 1])], "mul");
  check((a, b) => ops.div(a, b), [arg([2, 3]), arg([2, 3], 0.5, 2)], "div");
  check((a, b) => ops.maximum(a, b), [arg([4, 5]), arg([4, 5])], "maximum");
  check((a) => ops.exp(a), [arg([5])], "exp");
  check((a) => ops.log(a), [arg([5], 0.5, 2)], "log");
  check((a) => ops.sqrt(a), [arg([5], 0.5, 2)], "sqrt");
  check((a) => ops.abs(a), [arg([6], 0.2, 1)], "abs");
  check((a) => ops.pow(a, { exponent: 3 }), [arg([5])], "pow");
  check((a) => ops.neg(ops.scale(ops.addScalar(a, 2), 3)), [arg([5])], "neg/scale/addScalar");
  check((a) => ops.sum(a, { axes: [0, 2] }), [arg([2, 3, 4])], "sum");
  check((a) => ops.mean(a, { axes: [1], keepDims: true }), [arg([2, 3, 4])], "mean");
  check((a) => ops.max(a, { axes: [1] }), [arg([3, 4])], "max");
  check((a) => ops.transpose(a, { perm: [2, 0, 1] }), [arg([2, 3, 4])], "transpose");
  check((a) => ops.reshape(a, [4, 6]), [arg([2, 3, 4])], "reshape");
  check((a) => ops.broadcastTo(a, [2, 3, 4]), [arg([3, 1])], "broadcastTo");
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    check(
      (a, b) => ops.matmul(a, b, { transposeA: ta, transposeB: tb }),
      [arg(ta ? [4, 3] : [3, 4]), arg(tb ? [5, 4] : [4, 5])],
      `matmul ${ta} ${tb}`,
    );
  }
});

Deno.test("gradients() accumulates over a tensor used twice and gives zeros off-path", () => {
  const x = device.tensor([1, 2], [2]);
  const z = device.tensor([5, 5], [2]);
  x.requiresGrad = z.requiresGrad = true;
  const [dx, dz] = gradients(ops.sum(ops.add(ops.mul(x, x), x)), [x, z]);
  assert.deepEqual([...dx.dataSync()], [3, 5]);
  assert.deepEqual([...dz.dataSync()], [0, 0]);
});

Deno.test("runOp() rejects an op without a kernel, naming op and backend", () => {
  const bare = new Registry().use({ ...cpu, name: "bare", kernels: [] });
  return bare.device("cpu").then((d) => {
    assert.throws(() => ops.add(d.tensor([1], [1]), d.tensor([1], [1])), /op "add" on backend "cpu"/);
  });
});
