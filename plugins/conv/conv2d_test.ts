import { gradients, Model, ops, Registry, Rng, type Shape, sizeOf, type Tensor, tidy } from "@cnnlab/core";
import { assertClose, checkGradients, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import conv, { conv2d, convOps } from "./mod.ts";

const registry = new Registry().use(cpu).use(conv);
const device = await registry.device("cpu");
const rng = new Rng(11);
const arg = (shape: Shape) => ({ values: uniform(rng, sizeOf(shape)), shape });

Deno.test("conv2d() layer: output shape, parameter shapes and He-normal initialisation", () => {
  const layer = conv2d({ filters: 8, kernelSize: [3, 2], stride: 2, padding: [1, 0], groups: 2 });
  assert.deepEqual(layer.outputShape([4, 6, 9, 9]), [4, 8, 5, 4]);
  layer.build([1, 6, 9, 9], { device, rng: new Rng(1) });
  const { weight, bias } = Object.fromEntries(layer.parameters());
  assert.deepEqual(weight.shape, [8, 3, 3, 2]);
  assert.deepEqual(bias.shape, [8]);
  assert.ok(bias.dataSync().every((v) => v === 0));
  // std = sqrt(2 / fanIn) with fanIn = 3·3·2 = 18; check on a bigger layer for a stable estimate.
  const big = conv2d({ filters: 64, kernelSize: 5, bias: false });
  big.build([1, 16, 8, 8], { device, rng: new Rng(2) });
  const w = big.parameters().get("weight")!.dataSync();
  const mean = w.reduce((s, v) => s + v, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(std - Math.sqrt(2 / 400)) < 0.03 * Math.sqrt(2 / 400), `std ${std}`);
  assert.ok(Math.abs(mean) < 0.01);
  assert.deepEqual([...big.parameters().keys()], ["weight"]);
});

Deno.test("conv2d() layer: forward is the conv2d op plus the bias broadcast over [1, filters, 1, 1]", () => {
  const layer = conv2d({ filters: 3, kernelSize: 3, padding: "same", dilation: 2 });
  const x = device.tensor(arg([2, 2, 7, 6]).values, [2, 2, 7, 6]);
  layer.build(x.shape, { device, rng: new Rng(3) });
  layer.parameters().get("bias")!.assign(device.tensor([0.5, -1, 2], [3]));
  const y = layer.forward(x, { training: true, rng: new Rng(0) });
  assert.deepEqual(y.shape, [2, 3, 7, 6]);
  const plain = convOps.conv2d(x, layer.parameters().get("weight")!, { padding: 2, dilation: 2 }).dataSync();
  const want = plain.map((v, i) => v + [0.5, -1, 2][Math.floor(i / 42) % 3]);
  assertClose(y.dataSync(), want);
});

Deno.test("conv2d() layer: gradients w.r.t. input, weight and bias match central differences", () => {
  const cases = [
    { options: { filters: 2, kernelSize: 3, padding: 1 }, x: [2, 2, 5, 4] },
    {
      options: {
        filters: 4,
        kernelSize: [3, 2] as [number, number],
        stride: 2,
        dilation: 2,
        groups: 2,
        padding: [1, 1] as [number, number],
      },
      x: [1, 4, 8, 7],
    },
  ];
  for (const { options, x } of cases) {
    const layer = conv2d(options);
    const [o] = layer.outputShape(x).slice(1);
    const cg = x[1] / (options.groups ?? 1);
    const k = options.kernelSize;
    const w: Shape = typeof k === "number" ? [o, cg, k, k] : [o, cg, ...k];
    checkGradients(device, (xt, wt, bt) => layer.forwardWith(xt, wt, bt), [arg(x), arg(w), arg([o])], {
      rng,
      label: JSON.stringify(options),
    });
  }
});

Deno.test("conv2d() layer: parameters built by forward receive gradients through the tape", () => {
  const layer = conv2d({ filters: 2, kernelSize: 2 });
  const x = device.tensor(arg([1, 1, 3, 3]).values, [1, 1, 3, 3]);
  const y = layer.forward(x, { training: true, rng: new Rng(4) });
  const { weight, bias } = Object.fromEntries(layer.parameters());
  const [dw, db] = gradients(ops.sum(y), [weight, bias]);
  const xs = x.dataSync();
  const window = [0, 1, 3, 4].map((i) => [0, 1, 3, 4].reduce((s, d) => s + xs[i + d], 0));
  assertClose(dw.dataSync(), [...window, ...window]);
  assertClose(db.dataSync(), [4, 4]);
});

/** The input positions whose gradient is non-zero, and their bounding box. */
function support(g: Float32Array, size: number) {
  let count = 0, top = size, bottom = -1, left = size, right = -1;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      if (g[i * size + j] === 0) continue;
      count++;
      top = Math.min(top, i),
        bottom = Math.max(bottom, i),
        left = Math.min(left, j),
        right = Math.max(right, j);
    }
  }
  return { count, rows: [top, bottom], cols: [left, right] };
}

Deno.test("conv2d() layers with dilation 1, 2, 4 grow the receptive field to 3×3, 7×7, 15×15", () => {
  const size = 31, centre = 15;
  const layers = [1, 2, 4].map((dilation) => {
    const l = conv2d({ filters: 1, kernelSize: 3, dilation, padding: "same" });
    l.build([1, 1, size, size], { device, rng: new Rng(dilation) });
    const w = l.parameters().get("weight")!;
    w.assign(device.tensor(uniform(rng, 9, 0.5, 1.5), w.shape)); // positive: no cancellation
    return l;
  });
  tidy(() => {
    const x = device.tensor(uniform(rng, size * size), [1, 1, size, size]);
    x.requiresGrad = true;
    const seed = new Float32Array(size * size);
    seed[centre * size + centre] = 1;
    const dy = device.tensor(seed, [1, 1, size, size]);
    let y: Tensor = x;
    const expected = [3, 7, 15];
    layers.forEach((layer, i) => {
      y = layer.forward(y, { training: false, rng });
      assert.deepEqual(y.shape, [1, 1, size, size]);
      const [dx] = gradients(y, [x], dy);
      const half = (expected[i] - 1) / 2;
      assert.deepEqual(support(dx.dataSync(), size), {
        count: expected[i] ** 2,
        rows: [centre - half, centre + half],
        cols: [centre - half, centre + half],
      }, `after layer ${i + 1}`);
    });
  });
});

Deno.test("conv2d() layer: flops count 2·multiply-adds plus the bias adds", () => {
  const layer = conv2d({ filters: 16, kernelSize: 5 });
  assert.equal(layer.flops([64, 6, 14, 14]), 2 * 64 * 16 * 10 * 10 * 6 * 25 + 64 * 16 * 100);
  const grouped = conv2d({ filters: 8, kernelSize: 3, groups: 4, bias: false, padding: 1 });
  assert.equal(grouped.flops([1, 8, 4, 4]), 2 * 8 * 16 * 2 * 9);
});

Deno.test("conv2d() layer: outputShape rejects too-small and wrong-rank inputs naming the layer and shape", () => {
  const layer = conv2d({ filters: 4, kernelSize: 5 });
  assert.throws(
    () => layer.outputShape([1, 3, 4, 10]),
    (e: Error) =>
      e instanceof TypeError && /conv2d/.test(e.message) && /\[1,3,4,10\]/.test(e.message) &&
      /0×6/.test(e.message),
  );
  assert.throws(
    () => conv2d({ filters: 1, kernelSize: 3, dilation: 4 }).outputShape([1, 1, 8, 8]),
    /conv2d.*\[1,1,8,8\]/,
  );
  assert.throws(
    () => layer.outputShape([3, 28, 28]),
    (e: Error) => e instanceof TypeError && /conv2d.*\[3,28,28\]/.test(e.message),
  );
  assert.throws(() => conv2d({ filters: 4, kernelSize: 3, groups: 2 }).outputShape([1, 3, 8, 8]), RangeError);
  assert.throws(
    () =>
      new Model({ input: [1, 4, 4], layers: [{ type: "conv2d", filters: 2, kernelSize: 5 }] }, {
        registry,
        device,
        rng,
      }),
    /conv2d.*\[1,1,4,4\]/,
  );
});

Deno.test("conv2d() rejects bad options with a RangeError naming the option", () => {
  const bad: [object, RegExp][] = [
    [{ filters: 0, kernelSize: 3 }, /filters/],
    [{ filters: 2.5, kernelSize: 3 }, /filters/],
    [{ filters: 4, kernelSize: 0 }, /kernelSize/],
    [{ filters: 4, kernelSize: [3, 3, 3] }, /kernelSize/],
    [{ filters: 4, kernelSize: 3, stride: 0 }, /stride/],
    [{ filters: 4, kernelSize: 3, padding: -1 }, /padding/],
    [{ filters: 4, kernelSize: 3, dilation: 0 }, /dilation/],
    [{ filters: 6, kernelSize: 3, groups: 4 }, /groups 4.*filters 6/],
    [{ filters: 4, kernelSize: 3, bias: "yes" }, /bias/],
    [{ filters: 4, kernelSize: 3, padding: "same", stride: 2 }, /same.*stride/],
    [{ filters: 4, kernelSize: 2, padding: "same" }, /asymmetric/],
    [{ filters: 4, kernel_size: 3 }, /kernel_size/],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => conv2d(options as never),
      (e: Error) => e instanceof RangeError && /conv2d/.test(e.message) && message.test(e.message),
      JSON.stringify(options),
    );
  }
});
