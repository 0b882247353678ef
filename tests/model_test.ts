import { createRegistry } from "@cnnlab/cnnlab";
import {
  fit,
  type FusedForward,
  gradients,
  type Layer,
  liveTensors,
  Model,
  noGrad,
  ops,
  Rng,
  type Shape,
  type Tensor,
  tidy,
  TrainingError,
} from "@cnnlab/core";
import { lenet5 } from "@cnnlab/lenet5";
import assert from "node:assert/strict";

const registry = createRegistry();
const device = await registry.device("cpu");

Deno.test("Model.summary() of LeNet-5 gives per-layer shapes, 61,706 parameters and FLOPs", () => {
  const model = new Model(lenet5(), { registry, device, rng: new Rng(1) });
  const s = model.summary();
  const shapes = Object.fromEntries(s.layers.map((l) => [l.name, l.outputShape]));
  assert.deepEqual(shapes.conv1, [6, 28, 28]);
  assert.deepEqual(shapes.pool1, [6, 14, 14]);
  assert.deepEqual(shapes.conv2, [16, 10, 10]);
  assert.deepEqual(shapes.pool2, [16, 5, 5]);
  assert.deepEqual(shapes.flatten, [400]);
  assert.deepEqual(shapes.fc3, [10]);
  // 156 + 2,416 + 48,120 + 10,164 + 850
  assert.equal(s.totalParameters, 61706);
  const conv1 = s.layers.find((l) => l.name === "conv1")!;
  assert.ok(conv1.flops >= 2 * 6 * 28 * 28 * 25, `conv1 FLOPs ${conv1.flops}`);
});

Deno.test("Model rejects an input too small for a layer, naming the layer and shapes", () => {
  assert.throws(
    () => new Model(lenet5({ input: [1, 8, 8] }), { registry, device, rng: new Rng(1) }),
    (e: Error) => e instanceof TypeError && /conv2/.test(e.message) && /\[1,6,4,4\]/.test(e.message),
  );
});

Deno.test("Model rejects an unknown layer type and an undefined input name", () => {
  assert.throws(
    () => new Model({ input: [3], layers: [{ type: "nope" }] }, { registry, device, rng: new Rng(1) }),
    /layer "nope"/,
  );
  assert.throws(
    () =>
      new Model({ inputs: { a: [3] }, layers: [{ type: "relu", inputs: ["b"] }] }, {
        registry,
        device,
        rng: new Rng(1),
      }),
    /input "b" is not defined/,
  );
});

Deno.test("Model.forward() checks the input shape against the spec", () => {
  const model = new Model({ input: [4], layers: [{ type: "dense", units: 2 }] }, {
    registry,
    device,
    rng: new Rng(1),
  });
  assert.throws(
    () => model.forward(device.zeros([2, 5]), { training: false, rng: new Rng(0) }),
    /expected \[batch, 4\]/,
  );
});

Deno.test("a graph with named inputs and a skip connection runs and differentiates through both branches", () => {
  const spec = {
    inputs: { x: [1, 6, 6], y: [1, 6, 6] },
    layers: [
      { type: "conv2d", name: "cx", inputs: ["x"], filters: 2, kernelSize: 3, padding: 1 },
      { type: "conv2d", name: "cy", inputs: ["y"], filters: 2, kernelSize: 3, padding: 1 },
      { type: "add", name: "sum", inputs: ["cx", "cy"] },
      { type: "flatten", name: "flat" },
      { type: "dense", name: "out", units: 3 },
    ],
  };
  const model = new Model(spec, { registry, device, rng: new Rng(2) });
  assert.deepEqual(model.outputShape, [3]);
  const params = [...model.parameters().values()];
  for (const p of params) p.requiresGrad = true;
  const grads = tidy(() => {
    const out = model.forward({ x: device.fill([2, 1, 6, 6], 0.5), y: device.fill([2, 1, 6, 6], -0.25) }, {
      training: true,
      rng: new Rng(0),
    });
    assert.deepEqual(out.shape, [2, 3]);
    return gradients(ops.sum(out), params).map((g) => g.dataSync().some((v) => v !== 0));
  });
  assert.deepEqual(grads, params.map(() => true));
  assert.deepEqual([...model.parameters().keys()].slice(0, 2), ["cx.weight", "cx.bias"]);
});

Deno.test("fit() lowers the loss of LeNet-5 on a few real digits and does not grow the tensor count", async () => {
  const ds = await registry.dataset("mnist")({ split: "train", limit: 256 });
  const model = new Model(lenet5(), { registry, device, rng: new Rng(1) });
  const loss = registry.loss("softmaxCrossEntropy")({});
  const counts: number[] = [];
  const history = await fit({
    model,
    loss,
    optimizer: registry.optimizer("adam")({ lr: 0.002 }),
    train: ds,
    epochs: 3,
    batchSize: 32,
    rng: new Rng(1),
    onEpoch: () => void counts.push(liveTensors()),
  });
  assert.equal(counts.length, 3);
  assert.equal(counts[2], counts[0], `live tensors after each epoch: ${counts}`);
  assert.ok(history[2].trainLoss < history[0].trainLoss * 0.8, `losses ${history.map((h) => h.trainLoss)}`);
});

Deno.test("fit() stops with a one-line error naming the step when a NaN weight hides behind a ReLU", async () => {
  // One NaN in conv1's first filter: its feature map is NaN, and the ReLU after it passes NaN on (a ReLU
  // that turned NaN into 0 would let training go on with a dead filter and a finite loss).
  const ds = await registry.dataset("mnist")({ split: "train", limit: 64 });
  const model = new Model(lenet5(), { registry, device, rng: new Rng(1) });
  const w = model.parameters().get("conv1.weight")!;
  const values = await w.data();
  values[3] = NaN;
  w.assign(device.tensor(values, w.shape));
  await assert.rejects(
    () =>
      fit({
        model,
        loss: registry.loss("softmaxCrossEntropy")({}),
        optimizer: registry.optimizer("adam")({ lr: 0.002 }),
        train: ds,
        epochs: 1,
        batchSize: 32,
        rng: new Rng(1),
      }),
    (e: Error) =>
      e instanceof TrainingError && !e.message.includes("\n") &&
      /the loss is NaN at epoch 1, step 1; lower --lr or check the data for NaN/.test(e.message),
  );
});

/** Layers `scale2` (x·2) and `shift1` (x + 1); `scale2` fuses with a following `shift1` and counts it. */
function fusingRegistry() {
  const fusedRuns = { count: 0 };
  const simple = (
    type: string,
    f: (x: Tensor) => Tensor,
    fuse?: (next: Layer) => FusedForward | undefined,
  ) => ({
    type,
    options: {},
    outputShape: (s: Shape | readonly Shape[]) => s as Shape,
    forward: (x: Tensor | readonly Tensor[]) => f(x as Tensor),
    parameters: () => new Map(),
    fuseWith: fuse,
  });
  const shift = (x: Tensor) => ops.addScalar(x, 1);
  const scale = (x: Tensor) => ops.scale(x, 2);
  const r = createRegistry().use({
    name: "@test/fusing",
    version: "0.0.0",
    provides: {
      layers: {
        shift1: () => simple("shift1", shift),
        scale2: () =>
          simple("scale2", scale, (next) =>
            next.type === "shift1"
              ? (x) => {
                fusedRuns.count++;
                return shift(scale(x as Tensor));
              }
              : undefined),
      },
    },
  });
  return { registry: r, fusedRuns };
}

Deno.test("Model runs fusing layer pairs as one pass only without a tape and when nothing else reads the first", async () => {
  const { registry: r, fusedRuns } = fusingRegistry();
  const dev = await r.device("cpu");
  const ctx = { training: false, rng: new Rng(1) };
  const x = dev.tensor([1, -2, 3], [1, 3]);
  const chain = new Model({
    input: [3],
    layers: [{ type: "scale2", name: "a" }, { type: "shift1", name: "b" }],
  }, {
    registry: r,
    device: dev,
    rng: new Rng(1),
  });
  assert.deepEqual([...chain.forward(x, ctx).dataSync()], [3, -3, 7]);
  assert.equal(fusedRuns.count, 0, "with the tape on, each layer runs");
  assert.deepEqual([...noGrad(() => chain.forward(x, ctx)).dataSync()], [3, -3, 7]);
  assert.equal(fusedRuns.count, 1, "without a tape, the pair runs fused");
  const { captured } = noGrad(() => chain.run(x, ctx, ["a"]));
  assert.deepEqual([...captured.get("a")!.dataSync()], [2, -4, 6]);
  assert.equal(fusedRuns.count, 1, "a captured first output is computed");
  const layers = [
    { type: "scale2", name: "a" },
    { type: "shift1", name: "b" },
    { type: "add", name: "sum", inputs: ["a", "b"] },
  ];
  const skip = new Model({ input: [3], layers }, { registry: r, device: dev, rng: new Rng(1) });
  assert.deepEqual([...noGrad(() => skip.forward(x, ctx)).dataSync()], [5, -7, 13]);
  const twoOutputs = new Model({ input: [3], layers: layers.slice(0, 2), outputs: ["a", "b"] }, {
    registry: r,
    device: dev,
    rng: new Rng(1),
  });
  assert.equal(noGrad(() => twoOutputs.run(x, ctx)).outputs.length, 2);
  assert.equal(fusedRuns.count, 1, "a first output read by another node or returned is computed");
});

Deno.test("LeNet-5's inference, its convolutions fused with their ReLUs, gives the unfused values", () => {
  const model = new Model(lenet5(), { registry, device, rng: new Rng(1) });
  const rng = new Rng(2);
  const x = device.tensor(Float32Array.from({ length: 4 * 784 }, () => rng.next()), [4, 1, 28, 28]);
  const ctx = { training: false, rng };
  const unfused = tidy(() => model.forward(x, ctx).dataSync().slice());
  const fused = noGrad(() => tidy(() => model.forward(x, ctx).dataSync().slice()));
  const captured = noGrad(() =>
    tidy(() => model.run(x, ctx, ["conv1", "conv2"]).outputs[0].dataSync().slice())
  );
  assert.deepEqual(fused, unfused);
  assert.deepEqual(captured, unfused);
  x.dispose();
});
