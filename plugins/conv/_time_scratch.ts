import { Registry, Rng, type Shape, sizeOf, runOp } from "@cnnlab/core";
import { uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import webgpu from "@cnnlab/backend-webgpu";
import conv, { conv2dOp, conv2dBackpropInputOp, conv2dBackpropFilterOp, type Conv2dAttrs } from "./mod.ts";
const device = await new Registry().use(webgpu).use(cpu).use(conv).device("webgpu");
const cdev = await new Registry().use(cpu).use(conv).device("cpu");
const rng = new Rng(3);
const arg = (shape: Shape) => ({ values: uniform(rng, sizeOf(shape)), shape });
const attrs = (a: Partial<Conv2dAttrs> = {}): Conv2dAttrs => ({ stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1, ...a });
const which = (Deno.args[0] ?? "fwd,bpInput,bpFilter").split(",");
const layers = [
  { name: "conv1", x: [64, 1, 28, 28], w: [6, 1, 5, 5], attrs: attrs({ padding: [2, 2] }) },
  { name: "conv2", x: [64, 6, 14, 14], w: [16, 6, 5, 5], attrs: attrs() },
];
for (const l of layers) {
  const out = conv2dOp.outputShape([l.x, l.w], l.attrs);
  const xa = arg(l.x), wa = arg(l.w), dya = arg(out);
  for (const d of [device, cdev]) {
  const x = d.tensor(xa.values, l.x), w = d.tensor(wa.values, l.w), dy = d.tensor(dya.values, out);
  const runs: [string, () => ReturnType<typeof runOp>][] = [
    ["fwd", () => runOp(conv2dOp, [x, w], l.attrs)],
    ["bpInput", () => runOp(conv2dBackpropInputOp, [dy, w], { ...l.attrs, inputShape: l.x })],
    ["bpFilter", () => runOp(conv2dBackpropFilterOp, [x, dy], { ...l.attrs, filterShape: l.w })],
  ];
  for (const [name, f] of runs) {
    if (!which.includes(name)) continue;
    let first: Float32Array | undefined;
    for (let i = 0; i < 1; i++) { const y = f(); first = await y.data(); y.dispose(); }
    const reps = d === cdev ? 10 : 2, t0 = performance.now();
    for (let i = 0; i < reps; i++) { const y = f(); await y.data(); y.dispose(); }
    console.log(d.name, l.name, name, ((performance.now() - t0) / reps).toFixed(1), "ms", first![7].toFixed(4));
  }
  }
}
