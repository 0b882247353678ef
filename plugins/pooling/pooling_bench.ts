/**
 * CPU timings of the pooling kernels at LeNet-5 shapes (batch 64, 2×2/2): run with
 * `deno bench -A plugins/pooling/`. Forward and backward ops are timed on their own, through `runOp`.
 * @module
 */
import { type OpDef, Registry, Rng, runOp, type Shape, type Tensor } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import pooling, {
  avgPool2dBackwardOp,
  avgPool2dOp,
  lpPool2dBackwardOp,
  lpPool2dOp,
  maxPool2dBackwardOp,
  maxPool2dOp,
  resolveLpPool2dOptions,
  resolvePool2dOptions,
} from "./mod.ts";

const device = await new Registry().use(cpu).use(pooling).device("cpu");
const rng = new Rng(0);
const random = (shape: Shape): Tensor =>
  device.tensor(
    Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.next() * 2 - 1),
    shape,
  );
const window = resolvePool2dOptions({ poolSize: 2 }, "bench");
const lp = resolveLpPool2dOptions({ poolSize: 2, p: 2 });

for (const shape of [[64, 6, 28, 28], [64, 16, 10, 10]]) {
  const x = random(shape);
  const y = runOp(maxPool2dOp, [x], window);
  const dy = random(y.shape);
  const yLp = runOp(lpPool2dOp, [x], lp);
  const bench = <A>(name: string, op: OpDef<A>, inputs: Tensor[], attrs: A) =>
    Deno.bench(`${name} [${shape}]`, { group: `${shape}` }, () => {
      runOp(op, inputs, attrs);
    });
  bench("maxPool2d forward", maxPool2dOp, [x], window);
  bench("maxPool2d backward", maxPool2dBackwardOp, [x, dy], window);
  bench("avgPool2d forward", avgPool2dOp, [x], window);
  bench("avgPool2d backward", avgPool2dBackwardOp, [dy], { ...window, inputShape: shape });
  bench("lpPool2d p=2 forward", lpPool2dOp, [x], lp);
  bench("lpPool2d p=2 backward", lpPool2dBackwardOp, [x, yLp, dy], lp);
}
