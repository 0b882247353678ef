import { type Device, gradients, type Layer, type Shape } from "@cnnlab/core";
import { assertClose } from "@cnnlab/core/testing";
import { avgPool2d, lpPool2d, maxPool2d, minPool2d, mixedPool2d } from "./mod.ts";
import { device as cpuDevice } from "./_helpers_test.ts";
import { cases, gpu, gpuTestOptions, read, Rng, uniformArg } from "./_helpers_webgpu_test.ts";

const rng = new Rng(10);
const ctx = { training: true, rng: new Rng(0) };

/** Every pooling layer, mixed pooling with a fixed λ (and the λ = 0, 1 shortcuts). */
function layersFor(options: (typeof cases)[number]["options"]): Layer[] {
  return [
    maxPool2d(options),
    minPool2d(options),
    avgPool2d(options),
    lpPool2d({ ...options, p: 2 }),
    lpPool2d({ ...options, p: 3, mean: true }),
    mixedPool2d({ ...options, lambda: 0.3 }),
    mixedPool2d({ ...options, lambda: 1 }),
    mixedPool2d({ ...options, lambda: 0 }),
  ];
}

/** The layer's output and its input gradient for the seed `dy`, computed on `device`. */
async function forwardAndGradient(
  device: Device,
  layer: Layer,
  x: Float32Array,
  shape: Shape,
  dy: Float32Array,
): Promise<[Float32Array, Float32Array]> {
  const xt = device.tensor(x, shape);
  xt.requiresGrad = true;
  const y = layer.forward(xt, ctx);
  const [dx] = gradients(y, [xt], device.tensor(dy, y.shape));
  const values: [Float32Array, Float32Array] = [await y.data(), await dx.data()];
  for (const t of [xt, y, dx]) t.dispose();
  return values;
}

Deno.test({
  name:
    "pooling layers on WebGPU match the CPU device: forward (mixedPool2d with fixed λ) and input gradient",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  for (const { shape, options, label } of cases) {
    for (const layer of layersFor(options)) {
      const outShape = layer.outputShape(shape);
      const x = uniformArg(rng, shape).values;
      const dy = uniformArg(rng, outShape).values;
      const [wantY, wantDx] = await forwardAndGradient(cpuDevice, layer, x, shape, dy);
      const [y, dx] = await forwardAndGradient(device, layer, x, shape, dy);
      const what = `${layer.type} ${JSON.stringify(layer.options)} on ${label}`;
      assertClose(y, wantY, { atol: 1e-5, rtol: 1e-4, label: `forward of ${what}` });
      assertClose(dx, wantDx, { atol: 1e-5, rtol: 1e-3, label: `input gradient of ${what}` });
    }
  }
});

Deno.test({
  name: "mixedPool2d layer on WebGPU with λ = 0.5 in inference equals the mean of max and average pooling",
  ...gpuTestOptions,
}, async () => {
  const device = await gpu();
  // Windows [1 4 3 2] and [−1 −4 −3 −2]: max 4 and −1, averages 2.5 and −2.5, written by hand.
  const x = device.tensor([1, 4, -1, -4, 3, 2, -3, -2], [1, 1, 2, 4]);
  const y = await read(() => mixedPool2d({ poolSize: 2 }).forward(x, { training: false, rng: new Rng(0) }));
  assertClose(y, [3.25, -1.75], { atol: 1e-6 });
});
