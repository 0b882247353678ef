import { type Device, gradients, ops, Registry, Rng, type Shape, sizeOf, type Tensor } from "@cnnlab/core";
import { assertClose, matchesReference, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import conv, {
  conv2d,
  type Conv2dAttrs,
  conv2dBackpropFilterOp,
  conv2dBackpropInputOp,
  conv2dOp,
  type Conv2dOptions,
  convOps,
} from "./mod.ts";

let gpuDevice: Device | undefined;
/** The WebGPU device, created on first use (so files load where no adapter exists). */
async function gpu(): Promise<Device> {
  return gpuDevice ??= await webgpuDevice([cpu, conv]);
}
const rng = new Rng(5);
const arg = (shape: Shape) => ({ values: uniform(rng, sizeOf(shape)), shape });
const attrs = (a: Partial<Conv2dAttrs> = {}): Conv2dAttrs => ({
  stride: [1, 1],
  padding: [0, 0],
  dilation: [1, 1],
  groups: 1,
  ...a,
});
const tolerance = { atol: 1e-4, rtol: 1e-3 };

interface Case {
  label: string;
  x: Shape;
  w: Shape;
  attrs: Conv2dAttrs;
}

/** The attribute combinations of the CPU kernel tests, plus shapes that reach several tiles. */
const cases: Case[] = [
  { label: "plain", x: [2, 3, 6, 5], w: [4, 3, 3, 3], attrs: attrs() },
  { label: "pad", x: [2, 2, 5, 5], w: [3, 2, 3, 3], attrs: attrs({ padding: [1, 2] }) },
  { label: "groups 2", x: [2, 4, 6, 6], w: [4, 2, 3, 3], attrs: attrs({ groups: 2, padding: [1, 1] }) },
  { label: "depthwise", x: [2, 3, 5, 5], w: [3, 1, 3, 3], attrs: attrs({ groups: 3, padding: [1, 1] }) },
  {
    label: "dilation 2",
    x: [1, 2, 9, 9],
    w: [2, 2, 3, 3],
    attrs: attrs({ dilation: [2, 2], padding: [1, 1] }),
  },
  { label: "stride 2", x: [2, 2, 9, 8], w: [3, 2, 3, 3], attrs: attrs({ stride: [2, 2], padding: [1, 1] }) },
  {
    label: "kernel 3×2",
    x: [2, 3, 7, 6],
    w: [2, 3, 3, 2],
    attrs: attrs({ padding: [1, 0], stride: [1, 2] }),
  },
  {
    label: "all",
    x: [3, 4, 11, 10],
    w: [6, 2, 3, 2],
    attrs: attrs({ groups: 2, stride: [2, 3], dilation: [2, 2], padding: [2, 1] }),
  },
  { label: "1×1 pointwise", x: [2, 4, 5, 3], w: [6, 2, 1, 1], attrs: attrs({ groups: 2 }) },
  { label: "1×1 strided", x: [2, 3, 5, 5], w: [2, 3, 1, 1], attrs: attrs({ stride: [2, 2] }) },
  {
    label: "kernel wider than the padded rows it hits",
    x: [1, 1, 3, 3],
    w: [1, 1, 3, 3],
    attrs: attrs({ padding: [3, 3], dilation: [2, 2] }),
  },
  {
    label: "two row tiles per group, reduction split over workgroups",
    x: [4, 4, 20, 20],
    w: [20, 2, 3, 3],
    attrs: attrs({ groups: 2, padding: [1, 1] }),
  },
  { label: "LeNet-5 conv1, batch 8", x: [8, 1, 28, 28], w: [6, 1, 5, 5], attrs: attrs({ padding: [2, 2] }) },
  { label: "LeNet-5 conv2, batch 8", x: [8, 6, 14, 14], w: [16, 6, 5, 5], attrs: attrs() },
];

async function checkAllOps(device: Device, c: Case): Promise<void> {
  const out = conv2dOp.outputShape([c.x, c.w], c.attrs);
  const x = arg(c.x), w = arg(c.w), dy = arg(out);
  const label = (op: string) => `${op} ${c.label}`;
  try {
    await matchesReference(device, conv2dOp, [x, w], c.attrs, tolerance);
    await matchesReference(
      device,
      conv2dBackpropInputOp,
      [dy, w],
      { ...c.attrs, inputShape: c.x },
      tolerance,
    );
    await matchesReference(
      device,
      conv2dBackpropFilterOp,
      [x, dy],
      { ...c.attrs, filterShape: c.w },
      tolerance,
    );
  } catch (e) {
    throw new Error(`${label("conv ops")}: ${(e as Error).message}`);
  }
}

Deno.test({
  name: "conv2d ops: the WebGPU kernels agree with the references over attribute combinations",
  ...gpuTest,
}, async () => {
  const device = await gpu();
  for (const c of cases) await checkAllOps(device, c);
});

Deno.test({
  name: "conv2d ops: the WebGPU kernels return zeros when the reduction is empty and handle batch 0",
  ...gpuTest,
}, async () => {
  const device = await gpu();
  const x = device.zeros([0, 2, 5, 5]), w = device.tensor(arg([3, 2, 3, 3]).values, [3, 2, 3, 3]);
  const y = convOps.conv2d(x, w);
  assert.deepEqual(y.shape, [0, 3, 3, 3]);
  assert.equal((await y.data()).length, 0);
  const dw = convOps.conv2dBackpropFilter(x, device.zeros([0, 3, 3, 3]), { filterShape: [3, 2, 3, 3] });
  assert.deepEqual([...await dw.data()], new Array(54).fill(0));
});

/** Input, weight and bias gradients of `sum(layer(x) · r)` on `device`, read back. */
function layerGradients(
  device: Device,
  options: Conv2dOptions,
  values: { x: Float32Array; w: Float32Array; b: Float32Array; r: Float32Array },
  shapes: { x: Shape; w: Shape; y: Shape },
): Promise<Float32Array[]> {
  const layer = conv2d(options);
  const leaf = (v: Float32Array, s: Shape) => {
    const t = device.tensor(v, s);
    t.requiresGrad = true;
    return t;
  };
  const x = leaf(values.x, shapes.x), w = leaf(values.w, shapes.w), b = leaf(values.b, [shapes.w[0]]);
  const loss = ops.sum(ops.mul(layer.forwardWith(x, w, b), device.tensor(values.r, shapes.y)));
  const grads: Tensor[] = gradients(loss, [x, w, b]);
  return Promise.all([loss, ...grads].map((t) => t.data()));
}

Deno.test({
  name: "conv2d() layer: gradients w.r.t. input, weight and bias on WebGPU match the CPU device",
  ...gpuTest,
}, async () => {
  const device = await gpu();
  const cpuDevice = await new Registry().use(cpu).use(conv).device("cpu");
  const layers: { options: Conv2dOptions; x: Shape }[] = [
    { options: { filters: 6, kernelSize: 5, padding: 2 }, x: [4, 1, 12, 12] },
    {
      options: { filters: 4, kernelSize: [3, 2], stride: 2, dilation: 2, groups: 2, padding: 1 },
      x: [3, 4, 9, 8],
    },
    { options: { filters: 12, kernelSize: 3, groups: 3 }, x: [2, 6, 7, 7] },
  ];
  for (const { options, x } of layers) {
    const layer = conv2d(options);
    const y = layer.outputShape(x);
    const [kh, kw] = typeof options.kernelSize === "number"
      ? [options.kernelSize, options.kernelSize]
      : options.kernelSize;
    const w: Shape = [options.filters, x[1] / (options.groups ?? 1), kh, kw];
    const values = {
      x: arg(x).values,
      w: arg(w).values,
      b: arg([options.filters]).values,
      r: arg(y).values,
    };
    const got = await layerGradients(device, options, values, { x, w, y });
    const want = await layerGradients(cpuDevice, options, values, { x, w, y });
    ["loss", "dx", "dweight", "dbias"].forEach((name, i) =>
      assertClose(got[i], want[i], { ...tolerance, label: `${name} ${JSON.stringify(options)}` })
    );
  }
});

Deno.test({
  name: "conv2dBias with ReLU on WebGPU keeps NaN: a NaN weight poisons its filter's outputs",
  ...gpuTest,
}, async () => {
  const device = await gpu();
  const [xs, ws]: Shape[] = [[2, 3, 9, 9], [5, 3, 3, 3]];
  const w = arg(ws).values;
  w[27 + 4] = NaN; // filter 1
  const y = await convOps.conv2dBias(
    device.tensor(arg(xs).values, xs),
    device.tensor(w, ws),
    device.tensor(arg([5]).values, [5]),
    { padding: 1, relu: true },
  ).data();
  const plane = 81;
  for (let i = 0; i < y.length; i++) {
    const filter = Math.floor(i / plane) % 5;
    assert.ok(filter === 1 ? Number.isNaN(y[i]) : y[i] >= 0, `y[${i}] (filter ${filter}) is ${y[i]}`);
  }
});
