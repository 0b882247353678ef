import { Registry, Rng, type Shape, sizeOf, runOp } from "@cnnlab/core";
import { matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import webgpu from "@cnnlab/backend-webgpu";
import conv, { conv2dOp, conv2dBackpropInputOp, conv2dBackpropFilterOp, type Conv2dAttrs } from "./mod.ts";
const device = await new Registry().use(webgpu).use(cpu).use(conv).device("webgpu");
const rng = new Rng(3);
const arg = (shape: Shape) => ({ values: uniform(rng, sizeOf(shape)), shape });
const attrs = (a: Partial<Conv2dAttrs> = {}): Conv2dAttrs => ({ stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, ...a });
const cases = [
  { x: [2, 3, 6, 5], w: [4, 3, 3, 3], attrs: attrs() },
  { x: [3, 4, 11, 10], w: [6, 2, 3, 2], attrs: attrs({ groups: 2, stride: [2, 3], dilation: [2, 2], padding: [2, 1] }) },
  { x: [1, 3, 5, 5], w: [3, 1, 3, 3], attrs: attrs({ groups: 3 }) },
  { x: [8, 6, 14, 14], w: [16, 6, 5, 5], attrs: attrs() },
  { x: [8, 1, 28, 28], w: [6, 1, 5, 5], attrs: attrs({ padding: [2, 2] }) },
];
for (const c of cases) {
  const out = conv2dOp.outputShape([c.x, c.w], c.attrs);
  const x = arg(c.x), w = arg(c.w), dy = arg(out);
  await matchesReference(device, conv2dOp, [x, w], c.attrs, { atol: 1e-4, rtol: 1e-3 });
  await matchesReference(device, conv2dBackpropInputOp, [dy, w], { ...c.attrs, inputShape: c.x }, { atol: 1e-4, rtol: 1e-3 });
  await matchesReference(device, conv2dBackpropFilterOp, [x, dy], { ...c.attrs, filterShape: c.w }, { atol: 1e-4, rtol: 1e-3 });
  console.log("ok", c.x, c.w);
}
const layers = [
  { name: "conv1", x: [64, 1, 28, 28], w: [6, 1, 5, 5], attrs: attrs({ padding: [2, 2] }) },
  { name: "conv2", x: [64, 6, 14, 14], w: [16, 6, 5, 5], attrs: attrs() },
];
for (const l of layers) {
  const out = conv2dOp.outputShape([l.x, l.w], l.attrs);
  const x = device.tensor(arg(l.x).values, l.x), w = device.tensor(arg(l.w).values, l.w), dy = device.tensor(arg(out).values, out);
  const runs: [string, () => ReturnType<typeof runOp>][] = [
    ["fwd", () => runOp(conv2dOp, [x, w], l.attrs)],
    ["bpInput", () => runOp(conv2dBackpropInputOp, [dy, w], { ...l.attrs, inputShape: l.x })],
    ["bpFilter", () => runOp(conv2dBackpropFilterOp, [x, dy], { ...l.attrs, filterShape: l.w })],
  ];
  for (const [name, f] of runs) {
    for (let i = 0; i < 2; i++) { const y = f(); await y.data(); y.dispose(); }
    const reps = 5, t0 = performance.now();
    for (let i = 0; i < reps; i++) { const y = f(); await y.data(); y.dispose(); }
    console.log(l.name, name, ((performance.now() - t0) / reps).toFixed(1), "ms");
  }
}
