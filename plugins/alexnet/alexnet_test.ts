import { Model, noGrad, Registry, Rng, tidy } from "@cnnlab/core";
import cpu from "@cnnlab/backend-cpu";
import conv from "@cnnlab/conv";
import pooling from "@cnnlab/pooling";
import activations from "@cnnlab/activations";
import dense from "@cnnlab/dense";
import assert from "node:assert/strict";
import alexnetPlugin, { alexnet, alexnetSplit, resolveAlexnetOptions } from "./mod.ts";
import meta from "./deno.json" with { type: "json" };

const registry = new Registry().use(cpu).use(conv).use(pooling).use(activations).use(dense).use(
  alexnetPlugin,
);
const device = await registry.device("cpu");

/** Parameters of AlexNet from the paper's widths: conv weights + biases, dense weights + biases. */
function expectedParameters(classes: number, groups: number): number {
  // [in, out, kernel, groups] of conv1..conv5.
  const convs = [[3, 96, 11, 1], [96, 256, 5, groups], [256, 384, 3, 1], [384, 384, 3, groups], [
    384,
    256,
    3,
    groups,
  ]];
  let n = 0;
  for (const [i, o, k, g] of convs) n += o * (i / g) * k * k + o;
  for (const [i, o] of [[256 * 6 * 6, 4096], [4096, 4096], [4096, classes]]) n += i * o + o;
  return n;
}

/** 2 × multiply-adds of the conv and dense layers for one 227² image. */
function expectedMacFlops(groups: number): number {
  // [in, out, kernel, output side, groups].
  const convs = [[3, 96, 11, 55, 1], [96, 256, 5, 27, groups], [256, 384, 3, 13, 1], [
    384,
    384,
    3,
    13,
    groups,
  ], [384, 256, 3, 13, groups]];
  let f = 0;
  for (const [i, o, k, s, g] of convs) f += 2 * o * s * s * (i / g) * k * k;
  for (const [i, o] of [[9216, 4096], [4096, 4096], [4096, 1000]]) f += 2 * i * o;
  return f;
}

Deno.test("alexnet plugin: name and version equal deno.json's", () => {
  assert.equal(alexnetPlugin.name, meta.name);
  assert.equal(alexnetPlugin.version, meta.version);
});

Deno.test("alexnet() single tower: 62,378,344 parameters, [1000] output and about 2.27 GFLOP", () => {
  assert.equal(expectedParameters(1000, 1), 62_378_344);
  const model = new Model(alexnet(), { registry, device, rng: new Rng(1) });
  const summary = model.summary();
  assert.equal(summary.totalParameters, 62_378_344);
  assert.deepEqual(model.outputShape, [1000]);
  assert.deepEqual(summary.layers.find((l) => l.name === "flatten")?.outputShape, [9216]);
  // Conv and dense rows: 2 × multiply-adds, plus one add per output for conv biases.
  const weighted = summary.layers.filter((l) => l.type === "conv2d" || l.type === "dense");
  const macFlops = expectedMacFlops(1);
  const flops = weighted.reduce((s, l) => s + l.flops, 0);
  assert.ok(flops >= macFlops && flops <= macFlops + 2e6, `conv+dense FLOPs ${flops} vs ${macFlops}`);
  assert.ok(Math.abs(summary.totalFlops - 2.27e9) < 0.01e9, `total FLOPs ${summary.totalFlops}`);
});

Deno.test("alexnet() with split: conv2, conv4 and conv5 grouped, 60,965,224 parameters", () => {
  assert.equal(expectedParameters(1000, 2), 60_965_224);
  const spec = alexnet({ split: true });
  // The dense layers equal the single tower's (checked above), so build only the convolutional part:
  // a full build spends seconds drawing 58M dense weights.
  const tail = spec.layers.findIndex((l) => l.type === "flatten");
  assert.deepEqual(spec.layers.slice(tail), alexnet().layers.slice(tail));
  const model = new Model({ ...spec, layers: spec.layers.slice(0, tail) }, {
    registry,
    device,
    rng: new Rng(1),
  });
  const denseParameters = 9216 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000;
  assert.equal(model.summary().totalParameters + denseParameters, 60_965_224);
  assert.deepEqual(model.outputShape, [256, 6, 6]);
  assert.deepEqual(model.parameters().get("conv2.weight")!.shape, [256, 48, 5, 5]);
  assert.deepEqual(model.parameters().get("conv3.weight")!.shape, [384, 256, 3, 3]);
});

Deno.test("alexnet() with split on the smallest input (67²) runs forward to [batch, classes]", async () => {
  const model = new Model(alexnet({ input: [3, 67, 67], classes: 10, split: true }), {
    registry,
    device,
    rng: new Rng(2),
  });
  assert.deepEqual(model.summary().layers.find((l) => l.name === "pool5")?.outputShape, [256, 1, 1]);
  const rng = new Rng(3);
  const x = Float32Array.from({ length: 2 * 3 * 67 * 67 }, () => rng.next());
  const y = noGrad(() =>
    tidy(() => model.forward(device.tensor(x, [2, 3, 67, 67]), { training: false, rng }))
  );
  assert.deepEqual(y.shape, [2, 10]);
  assert.ok((await y.data()).every(Number.isFinite));
  y.dispose();
});

Deno.test("alexnet() on a 66² input: building names the layer that does not fit", () => {
  assert.throws(
    () => new Model(alexnet({ input: [3, 66, 66], classes: 10 }), { registry, device, rng: new Rng(1) }),
    (e: unknown) => e instanceof TypeError && /pool5/.test(e.message),
  );
});

Deno.test("resolveAlexnetOptions() rejects unknown options and bad values with RangeError", () => {
  assert.throws(() => resolveAlexnetOptions({ lrn: true } as never), /option "lrn"/);
  assert.throws(() => resolveAlexnetOptions({ classes: 2.5 }), /classes 2.5/);
  assert.throws(() => resolveAlexnetOptions({ input: [227, 227] }), /input \[227,227\]/);
  assert.throws(() => resolveAlexnetOptions({ split: "yes" as never }), /split yes/);
  assert.throws(() => resolveAlexnetOptions({ dropout: 1 }), /dropout 1/);
});

Deno.test("alexnetSplit() equals alexnet({ split: true }) and the plugin registers both", () => {
  assert.deepEqual(alexnetSplit({ classes: 5 }), alexnet({ classes: 5, split: true }));
  assert.deepEqual(registry.model("alexnet")({ classes: 7 }), alexnet({ classes: 7 }));
  assert.deepEqual(registry.model("alexnet-split")({}), alexnet({ split: true }));
});
