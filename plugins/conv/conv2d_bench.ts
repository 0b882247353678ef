/**
 * LeNet-5 convolution timings on the CPU backend (batch 64):
 * `deno bench -A plugins/conv/conv2d_bench.ts`.
 * @module
 */
import { Registry, Rng, type Shape, sizeOf } from "@cnnlab/core";
import { uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import conv, { conv2dBackpropFilterCpu, conv2dBackpropInputCpu, conv2dCpu, conv2dOp } from "./mod.ts";
import { resolveConv2dAttrs } from "./_geometry.ts";

const device = await new Registry().use(cpu).use(conv).device("cpu");
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
const input = (shape: Shape) => ({ storage: uniform(rng, sizeOf(shape)), shape });
for (const l of layers) {
  const x = input(l.x), w = input(l.w), dy = input(conv2dOp.outputShape([l.x, l.w], l.attrs));
  const out = dy.shape;
  Deno.bench(`conv2d forward, ${l.name}`, { group: l.name, baseline: true }, () => {
    conv2dCpu.run([x, w], l.attrs, out, device.backend as never);
  });
  Deno.bench(`conv2dBackpropFilter, ${l.name}`, { group: l.name }, () => {
    conv2dBackpropFilterCpu.run([x, dy], { ...l.attrs, filterShape: l.w }, l.w, device.backend as never);
  });
  Deno.bench(`conv2dBackpropInput, ${l.name}`, { group: l.name }, () => {
    conv2dBackpropInputCpu.run([dy, w], { ...l.attrs, inputShape: l.x }, l.x, device.backend as never);
  });
}
