/**
 * Backend conformance: every registered op, on every backend, against its reference kernel, and its
 * gradient (CPU: central differences; other backends: the CPU's autograd result). A backend declares
 * what it lacks by having no kernel registered; the suite prints that list and compares it with the
 * committed copy in `conformance_lacks.json`, so a kernel that disappears (or appears) is noticed.
 */
import { createRegistry } from "@cnnlab/cnnlab";
import {
  type Device,
  gradients,
  type OpDef,
  ops,
  primitiveOps,
  Rng,
  runOp,
  type Tensor,
  tidy,
} from "@cnnlab/core";
import { assertClose, checkGradients, matchesReference } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import { CASES, fillInput, type OpCase } from "./conformance_cases.ts";
import { setCpuKernels } from "@cnnlab/backend-cpu/gemm";
import { gpuTest, webgpuAvailable } from "./webgpu.ts";

const registry = createRegistry();
const allOps: OpDef<unknown>[] = [
  ...(primitiveOps as readonly OpDef<unknown>[]),
  ...registry.names("ops").map((n) => registry.op(n)),
];
const backends = ["cpu", ...(webgpuAvailable ? ["webgpu"] : [])];

function inputsOf(c: OpCase, seed: number) {
  const rng = new Rng(seed);
  return c.inputs.map((spec) => ({ values: fillInput(spec, rng), shape: spec.shape }));
}

/** Gradients of Σ op(x)·r with respect to the non-constant inputs, read back. */
async function projectedGradients(
  device: Device,
  op: OpDef<unknown>,
  c: OpCase,
  seed: number,
): Promise<Float32Array[]> {
  const inputs = inputsOf(c, seed);
  const wrt: number[] = c.inputs.map((s, i) => (s.constant || !op.grads?.[i] ? -1 : i)).filter((i) => i >= 0);
  const grads = tidy(() => {
    const xs = inputs.map((x) => device.tensor(x.values, x.shape));
    for (const i of wrt) xs[i].requiresGrad = true;
    const y = runOp(op, xs, c.attrs);
    const rng = new Rng(seed + 1);
    const r = device.tensor(Float32Array.from({ length: y.size }, () => rng.next() * 2 - 1), y.shape);
    return gradients(ops.sum(ops.mul(y, r)), wrt.map((i) => xs[i]));
  });
  const out = await Promise.all(grads.map((g: Tensor) => g.data()));
  grads.forEach((g) => g.dispose());
  return out;
}

Deno.test("every registered op has conformance cases", () => {
  const missing = allOps.filter((op) => !CASES[op.name]).map((op) => op.name);
  assert.deepEqual(missing, [], `add cases to tests/conformance_cases.ts for: ${missing.join(", ")}`);
});

Deno.test({
  name: "what each backend lacks equals the committed list",
  ...(backends.length > 1 ? {} : gpuTest),
}, async () => {
  const lacks: Record<string, string[]> = {};
  for (const b of ["cpu", "webgpu"]) {
    lacks[b] = allOps.filter((op) => !registry.hasKernel(op.name, b)).map((op) => op.name);
  }
  console.log(`ops without a kernel: ${JSON.stringify(lacks)}`);
  const committed = JSON.parse(await Deno.readTextFile(new URL("./conformance_lacks.json", import.meta.url)));
  assert.deepEqual(
    lacks,
    committed,
    "update tests/conformance_lacks.json deliberately when a backend gains or loses kernels",
  );
});

for (const backend of backends) {
  Deno.test({
    name: `backend "${backend}": every op's kernel matches its reference, and its gradient`,
    ...(backend === "webgpu" ? { ...gpuTest, sanitizeResources: false, sanitizeOps: false } : {}),
    fn: async (t) => {
      const device = await registry.device(backend);
      const cpu = await registry.device("cpu");
      for (const op of allOps) {
        if (!registry.hasKernel(op.name, backend)) continue;
        await t.step(op.name, async () => {
          for (const [i, c] of (CASES[op.name] ?? []).entries()) {
            const seed = 100 + i;
            await matchesReference(device, op, inputsOf(c, seed), c.attrs, { atol: 1e-4, rtol: 1e-3 });
            const differentiable = c.inputs.some((s, k) => !s.constant && op.grads?.[k]);
            if (c.noGrad || !differentiable) continue;
            if (backend === "cpu") {
              const inputs = inputsOf(c, seed);
              const constant = c.inputs.map((s) => Boolean(s.constant));
              checkGradients(
                cpu,
                (...xs) => runOp(op, xs, c.attrs),
                inputs,
                {
                  rng: new Rng(seed),
                  eps: 1e-3,
                  atol: 5e-3,
                  rtol: 3e-2,
                  label: `${op.name} case ${i}`,
                  constant,
                },
              );
            } else {
              const got = await projectedGradients(device, op, c, seed);
              const want = await projectedGradients(cpu, op, c, seed);
              got.forEach((g, k) =>
                assertClose(g, want[k], {
                  atol: 1e-4,
                  rtol: 1e-3,
                  label: `${op.name} gradient ${k} on ${backend}`,
                })
              );
            }
          }
        });
      }
    },
  });
}

Deno.test(`backend "cpu" with its TypeScript kernels (plain arrays, no WebAssembly): every op matches its reference`, async (t) => {
  const before = setCpuKernels("ts");
  try {
    const device = await registry.device("cpu");
    for (const op of allOps) {
      if (!registry.hasKernel(op.name, "cpu")) continue;
      await t.step(op.name, async () => {
        for (const [i, c] of (CASES[op.name] ?? []).entries()) {
          await matchesReference(device, op, inputsOf(c, 100 + i), c.attrs, { atol: 1e-4, rtol: 1e-3 });
        }
      });
    }
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
  }
});
