/**
 * LeNet-5 convolution timings on the WebGPU backend (batch 64), each op followed by `await y.data()`
 * so the GPU work is included: `deno bench -A plugins/conv/conv2d_webgpu_bench.ts`. Skipped where no
 * WebGPU adapter exists.
 * @module
 */
import { Registry, Rng, runOp, type Shape, sizeOf, type Tensor } from "@cnnlab/core";
import { uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import webgpu from "@cnnlab/backend-webgpu";
import conv, { conv2dBackpropFilterOp, conv2dBackpropInputOp, conv2dOp } from "./mod.ts";
import { resolveConv2dAttrs } from "./_geometry.ts";

const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
const device = adapter ? await new Registry().use(webgpu).use(cpu).use(conv).device("webgpu") : undefined;
const rng = new Rng(1);
const layers = [
  {
    name: "conv1 1→6 5×5 pad 2 on 28×28",
    x: [64, 1, 28, 28],
    w: [6, 1, 5, 5],
    attrs: resolveConv2dAttrs({ padding: 2 }),
  },
  { name: "conv2 6→16 5×5 on 14×14", x: [64, 6, 14, 14], w: [16, 6, 5, 5], attrs: resolveConv2dAttrs() },
];
for (const l of layers) {
  if (!device) break;
  const tensor = (shape: Shape) => device.tensor(uniform(rng, sizeOf(shape)), shape);
  const x = tensor(l.x), w = tensor(l.w), dy = tensor(conv2dOp.outputShape([l.x, l.w], l.attrs));
  const timed = (run: () => Tensor) => async () => {
    const y = run();
    await y.data();
    y.dispose();
  };
  const options = { group: l.name, n: 10, warmup: 2 };
  Deno.bench(
    `webgpu conv2d forward, ${l.name}`,
    { ...options, baseline: true },
    timed(() => runOp(conv2dOp, [x, w], l.attrs)),
  );
  Deno.bench(
    `webgpu conv2dBackpropFilter, ${l.name}`,
    options,
    timed(() => runOp(conv2dBackpropFilterOp, [x, dy], { ...l.attrs, filterShape: l.w })),
  );
  Deno.bench(
    `webgpu conv2dBackpropInput, ${l.name}`,
    options,
    timed(() => runOp(conv2dBackpropInputOp, [dy, w], { ...l.attrs, inputShape: l.x })),
  );
}
