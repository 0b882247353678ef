/**
 * WebGPU timings of the pooling kernels at LeNet-5 shapes (batch 64, 2×2/2): run with
 * `deno bench -A plugins/pooling/pooling_webgpu_bench.ts`. Each iteration records the op (once, or
 * ten times: "×10"), submits and waits until the GPU has finished (no read-back). The single-op time
 * includes one submission round trip (about 11 ms on llvmpipe, measured with an empty submit); the
 * "×10" time divided by ten is the kernel's own cost. Skipped where no WebGPU adapter exists.
 * @module
 */
import { type OpDef, Rng, runOp, type Shape, type Tensor } from "@cnnlab/core";
import type { WebGpuBackend } from "@cnnlab/backend-webgpu";
import cpu from "@cnnlab/backend-cpu";
import pooling, {
  avgPool2dBackwardOp,
  avgPool2dOp,
  lpPool2dBackwardOp,
  lpPool2dOp,
  maxPool2dBackwardOp,
  maxPool2dOp,
  minPool2dBackwardOp,
  minPool2dOp,
  resolveLpPool2dOptions,
  resolvePool2dOptions,
} from "./mod.ts";
import { webgpuAvailable, webgpuDevice } from "../../tests/webgpu.ts";

if (webgpuAvailable) {
  const device = await webgpuDevice([cpu, pooling]);
  const backend = device.backend as unknown as WebGpuBackend;
  const rng = new Rng(0);
  const random = (shape: Shape): Tensor =>
    device.tensor(
      Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.next() * 2 - 1),
      shape,
    );
  const window = resolvePool2dOptions({ poolSize: 2 }, "bench");
  const lp = resolveLpPool2dOptions({ poolSize: 2, p: 2 });

  Deno.bench("webgpu empty submission round trip", async () => {
    backend.flush();
    await backend.device.queue.onSubmittedWorkDone();
  });
  for (const shape of [[64, 6, 28, 28], [64, 16, 10, 10]]) {
    const x = random(shape);
    const y = runOp(maxPool2dOp, [x], window);
    const dy = random(y.shape);
    const yLp = runOp(lpPool2dOp, [x], lp);
    const bench = <A>(name: string, op: OpDef<A>, inputs: Tensor[], attrs: A) => {
      for (const times of [1, 10]) {
        Deno.bench(
          `webgpu ${name}${times > 1 ? ` ×${times}` : ""} [${shape}]`,
          { group: `${shape}` },
          async () => {
            for (let i = 0; i < times; i++) runOp(op, inputs, attrs).dispose();
            backend.flush();
            await backend.device.queue.onSubmittedWorkDone();
          },
        );
      }
    };
    bench("maxPool2d forward", maxPool2dOp, [x], window);
    bench("maxPool2d backward", maxPool2dBackwardOp, [x, dy], window);
    bench("minPool2d forward", minPool2dOp, [x], window);
    bench("minPool2d backward", minPool2dBackwardOp, [x, dy], window);
    bench("avgPool2d forward", avgPool2dOp, [x], window);
    bench("avgPool2d backward", avgPool2dBackwardOp, [dy], { ...window, inputShape: shape });
    bench("lpPool2d p=2 forward", lpPool2dOp, [x], lp);
    bench("lpPool2d p=2 backward", lpPool2dBackwardOp, [x, yLp, dy], lp);
  }
}
