import { type Device, gradients, type Layer, ops, Registry, Rng, type Shape, tidy } from "@cnnlab/core";
import { assertClose, uniform } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import { gpuTest, webgpuDevice } from "../../tests/webgpu.ts";
import activations, { elu, leakyRelu, maxout, prelu, relu } from "./mod.ts";

const rng = new Rng(36);
const size = (s: Shape) => s.reduce((p, d) => p * d, 1);

/** Output, input gradient and (for prelu) slope gradient of Σ layer(x)·r on one device, read back. */
async function run(
  device: Device,
  layer: Layer,
  x: Float32Array,
  r: Float32Array,
  shape: Shape,
  alpha?: Float32Array,
) {
  layer.build?.(shape, { device, rng: new Rng(0) });
  const param = layer.parameters().get("alpha");
  if (param && alpha) param.assign(device.tensor(alpha, param.shape));
  const [y, ...grads] = tidy(() => {
    const xt = device.tensor(x, shape);
    xt.requiresGrad = true;
    if (param) param.requiresGrad = true;
    const y = layer.forward(xt, { training: true, rng: new Rng(0) });
    const loss = ops.sum(ops.mul(y, device.tensor(r, y.shape)));
    return [y, ...gradients(loss, param ? [xt, param] : [xt])];
  });
  if (param) param.requiresGrad = false;
  return await Promise.all([y, ...grads].map((t) => t.data()));
}

Deno.test(
  { name: "activation layers' outputs and gradients on WebGPU equal those on the CPU", ...gpuTest },
  async () => {
    const gpu = await webgpuDevice([cpu, activations]);
    const host = await new Registry().use(cpu).use(activations).device("cpu");
    const layers =
      (): Layer[] => [relu(), leakyRelu({ alpha: 0.2 }), elu({ alpha: 0.7 }), prelu(), maxout({ pieces: 2 })];
    for (const shape of [[2, 4, 3, 5], [3, 6]]) {
      const x = uniform(rng, size(shape), -2, 2);
      x[0] = 0;
      const alpha = uniform(rng, shape[1], 0.1, 0.5);
      const gpuLayers = layers(), cpuLayers = layers();
      for (let i = 0; i < gpuLayers.length; i++) {
        const out = gpuLayers[i].outputShape(shape);
        const r = uniform(rng, size(out));
        const got = await run(gpu, gpuLayers[i], x, r, shape, alpha);
        const want = await run(host, cpuLayers[i], x, r, shape, alpha);
        const names = ["output", "d/dx", "d/dalpha"];
        want.forEach((w, k) =>
          assertClose(got[k], w, {
            atol: 1e-5,
            rtol: 1e-4,
            label: `${gpuLayers[i].type} ${shape} ${names[k]}`,
          })
        );
      }
    }
  },
);
