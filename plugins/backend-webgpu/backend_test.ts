import {
  fit,
  liveTensors,
  loadCheckpoint,
  Model,
  ops,
  Registry,
  Rng,
  saveCheckpoint,
  tidy,
} from "@cnnlab/core";
import { defaultPlugins } from "@cnnlab/cnnlab";
import { lenet5 } from "@cnnlab/lenet5";
import { assertClose } from "@cnnlab/core/testing";
import assert from "node:assert/strict";
import { WebGpuBackend } from "./mod.ts";
import { gpuTest } from "../../tests/webgpu.ts";

const gpu = { ...gpuTest, sanitizeResources: false, sanitizeOps: false };

/** The default plugins, with this backend instance standing in as "webgpu". */
function registryWith(backend: WebGpuBackend): Registry {
  const registry = new Registry();
  for (const p of defaultPlugins) {
    registry.use(
      p.name === "@cnnlab/backend-webgpu" ? { ...p, provides: { backends: { webgpu: () => backend } } } : p,
    );
  }
  return registry;
}

/** A GPU whose devices count live buffers by wrapping createBuffer and destroy. */
function countingGpu(): { gpu: GPU; live: () => number } {
  let live = 0;
  const real = navigator.gpu;
  const gpu = {
    async requestAdapter(options?: GPURequestAdapterOptions) {
      const adapter = await real.requestAdapter(options);
      if (!adapter) return null;
      const requestDevice = adapter.requestDevice.bind(adapter);
      Object.defineProperty(adapter, "requestDevice", {
        value: async (descriptor?: GPUDeviceDescriptor) => {
          const device = await requestDevice(descriptor);
          const createBuffer = device.createBuffer.bind(device);
          device.createBuffer = (d: GPUBufferDescriptor) => {
            const buffer = createBuffer(d);
            live++;
            const destroy = buffer.destroy.bind(buffer);
            let destroyed = false;
            buffer.destroy = () => {
              if (!destroyed) live--;
              destroyed = true;
              destroy();
            };
            return buffer;
          };
          return device;
        },
      });
      return adapter;
    },
  } as unknown as GPU;
  return { gpu, live: () => live };
}

Deno.test(
  { name: "WebGpuBackend: LeNet-5 training steps do not grow the live GPU buffer count", ...gpu },
  async () => {
    const { gpu: counting, live } = countingGpu();
    const backend = await WebGpuBackend.create({ gpu: counting });
    const registry = registryWith(backend);
    const device = await registry.device("webgpu");
    // LeNet-5's layers on 12×12 crops: every op of the full model at a fraction of the work.
    const model = new Model(lenet5({ input: [1, 12, 12] }), { registry, device, rng: new Rng(1) });
    const digits = await registry.dataset("mnist")({ split: "train", limit: 8 * 12 });
    const images = new Float32Array(digits.size * 144);
    for (let i = 0; i < digits.size; i++) {
      for (let r = 0; r < 12; r++) {
        const from = i * 784 + (r + 8) * 28 + 8;
        images.set(digits.images.subarray(from, from + 12), i * 144 + r * 12);
      }
    }
    const train = { ...digits, inputShape: [1, 12, 12], images };
    const counts: number[] = [];
    const tensors: number[] = [];
    await fit({
      model,
      loss: registry.loss("softmaxCrossEntropy")({}),
      optimizer: registry.optimizer("adam")({}),
      train,
      epochs: 1,
      batchSize: 8,
      rng: new Rng(1),
      onStep: () => {
        backend.flush();
        counts.push(live());
        tensors.push(liveTensors());
      },
    });
    assert.equal(counts.length, 12);
    // Warm-up fills the pool during the first steps; from the third step on the count must stay flat.
    assert.ok(counts[2] > 0);
    assert.deepEqual(
      counts.slice(2),
      counts.slice(2).map(() => counts[2]),
      `live buffers per step: ${counts}`,
    );
    assert.equal(tensors[11], tensors[2], `live tensors per step: ${tensors}`);
    backend.destroy();
  },
);

Deno.test(
  { name: "WebGpuBackend: elementwise ops split tensors larger than the binding limit", ...gpu },
  async () => {
    const backend = await WebGpuBackend.create({ maxBindingBytes: 1024 });
    const device = await registryWith(backend).device("webgpu");
    const n = 1000; // 4,000 bytes: four bound ranges of at most 1,024 bytes
    const a = Float32Array.from({ length: n }, (_, i) => i * 0.5);
    const b = Float32Array.from({ length: n }, (_, i) => 1000 - i);
    const [sum, scaled, withScalar] = tidy(() => {
      const x = device.tensor(a, [n]), y = device.tensor(b, [n]);
      return [ops.add(x, y), ops.scale(x, 3), ops.mul(x, device.tensor([2], [1]))];
    });
    assertClose(await sum.data(), a.map((v, i) => v + b[i]));
    assertClose(await scaled.data(), a.map((v) => 3 * v));
    assertClose(await withScalar.data(), a.map((v) => 2 * v));
    backend.destroy();
  },
);

Deno.test({
  name: "WebGpuBackend: an op that cannot split an oversized tensor names the op and the fix",
  ...gpu,
}, async () => {
  const backend = await WebGpuBackend.create({ maxBindingBytes: 1024 });
  const device = await registryWith(backend).device("webgpu");
  const big = device.zeros([40, 20]); // 3,200 bytes
  assert.throws(
    () => ops.matmul(big, device.zeros([20, 2])),
    (e: Error) =>
      e instanceof RangeError && /op "matmul" on backend "webgpu"/.test(e.message) &&
      /--backend cpu/.test(e.message),
  );
  assert.throws(() => ops.sum(big, { axes: [1] }), /op "sum"/);
  backend.destroy();
});

Deno.test({
  name: "WebGpuBackend: a lost device stops training with an error and the last checkpoint intact",
  ...gpu,
}, async () => {
  const backend = await WebGpuBackend.create();
  const registry = registryWith(backend);
  const device = await registry.device("webgpu");
  const model = new Model(lenet5(), { registry, device, rng: new Rng(1) });
  const train = await registry.dataset("mnist")({ split: "train", limit: 64 });
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    fit({
      model,
      loss: registry.loss("softmaxCrossEntropy")({}),
      optimizer: registry.optimizer("sgd")({}),
      train,
      epochs: 3,
      batchSize: 32,
      rng: new Rng(1),
      onEpoch: async (r) => {
        await saveCheckpoint(`${dir}/checkpoint`, {
          spec: model.spec,
          tensors: model.parameters(),
          meta: { epoch: r.epoch },
        });
        backend.device.destroy();
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
    }),
    (e: Error) => /lost|destroyed/i.test(e.message),
  );
  const saved = await loadCheckpoint(`${dir}/checkpoint`);
  assert.equal(saved.meta.epoch, 1);
  assert.equal(saved.tensors.size, model.parameters().size);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "WebGpuBackend.create() without an adapter says so in one line and suggests --backend cpu",
  ...gpu,
}, async () => {
  const none = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
  await assert.rejects(
    WebGpuBackend.create({ gpu: none }),
    /^Error: Cannot start the webgpu backend: no WebGPU adapter was found; use --backend cpu$/,
  );
});

Deno.test({
  name: "WebGpuBackend: a WGSL kernel that fails to compile makes later calls throw, not return zeros",
  ...gpu,
}, async () => {
  const backend = await WebGpuBackend.create();
  backend.pipeline("@compute @workgroup_size(1) fn main() { let x: f32 = undefined_name; }");
  // The error arrives asynchronously; give it up to two seconds.
  let error: unknown;
  for (let i = 0; i < 40 && !error; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      backend.acquire(16);
    } catch (e) {
      error = e;
    }
  }
  assert.match(String(error), /WGSL kernel failed to compile.*undefined_name|WGSL kernel failed to compile/);
  backend.device.destroy();
});
