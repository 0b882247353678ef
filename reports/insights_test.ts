import { computeInsights, picture } from "./insights.ts";
import { type Dataset, evaluate, Model, Rng } from "@cnnlab/core";
import { createRegistry } from "@cnnlab/cnnlab";
import assert from "node:assert/strict";

const registry = createRegistry();
const device = await registry.device("cpu");
const softmax = registry.loss("softmaxCrossEntropy")({});

/** A hand-made 4×4 dataset of `n` examples with 3 classes. */
function tinyDataset(n: number): Dataset {
  const rng = new Rng(7);
  const images = Float32Array.from({ length: n * 16 }, () => rng.next());
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  return {
    name: "tiny",
    split: "test",
    inputShape: [1, 4, 4],
    numClasses: 3,
    size: n,
    images,
    labels,
    source: "test",
  };
}

Deno.test("computeInsights: saliency and Grad-CAM equal a hand computation for conv 1×1 → flatten → dense", async () => {
  const test = tinyDataset(12);
  const model = new Model({
    input: [1, 4, 4],
    layers: [
      { type: "conv2d", name: "conv", filters: 1, kernelSize: 1, bias: false },
      { type: "flatten" },
      { type: "dense", name: "fc", units: 3 },
    ],
  }, { registry, device, rng: new Rng(3) });
  const evaluation = await evaluate(model, softmax, test, { batchSize: 12 });
  const insights = await computeInsights(model, test, evaluation, { explain: 12 });
  const w0 = (await model.layers[0].layer.parameters().get("weight")!.data())[0];
  const fc = await model.layers[2].layer.parameters().get("weight")!.data(); // [16, 3]
  assert.equal(insights.gradCamLayer, "conv");
  assert.equal(insights.explanations!.length, 12);
  for (const e of insights.explanations!) {
    const p = evaluation.predictions![e.index];
    assert.equal(e.predicted, p);
    const x = test.images.subarray(e.index * 16, e.index * 16 + 16);
    // score_p = Σ_i w0·x_i·W[i, p] + b_p, so ∂score/∂x_i = w0·W[i, p] and ∂score/∂A_i = W[i, p].
    const saliency = Array.from({ length: 16 }, (_, i) => Math.abs(w0 * fc[i * 3 + p]));
    let alpha = 0;
    for (let i = 0; i < 16; i++) alpha += fc[i * 3 + p] / 16;
    const cam = Array.from({ length: 16 }, (_, i) => Math.max(0, alpha * w0 * x[i]));
    assert.equal(e.saliency.pixels, picture(saliency, [4, 4], { colormap: "heat" }).pixels);
    assert.equal(e.gradCam!.pixels, picture(cam, [4, 4], { colormap: "heat" }).pixels);
    assert.equal(e.correct, p === test.labels[e.index]);
  }
});

Deno.test("computeInsights: confusion matrix, per-class accuracy and confused images agree with the evaluation", async () => {
  const test = await registry.dataset("mnist")({ split: "test", limit: 60 });
  const model = new Model({
    input: [1, 28, 28],
    layers: [
      { type: "conv2d", filters: 3, kernelSize: 5, stride: 2 },
      { type: "relu" },
      { type: "flatten" },
      {
        type: "dense",
        units: 10,
      },
    ],
  }, { registry, device, rng: new Rng(5) });
  const evaluation = await evaluate(model, softmax, test, { batchSize: 30 });
  const ins = await computeInsights(model, test, evaluation, { confused: 5 });
  const confusion = ins.confusion!;
  let diagonal = 0, total = 0;
  for (let c = 0; c < 10; c++) {
    diagonal += confusion[c][c];
    for (let p = 0; p < 10; p++) total += confusion[c][p];
    const row = confusion[c].reduce((a, b) => a + b, 0);
    const expected = [...test.labels].filter((l) => l === c).length;
    assert.equal(row, expected, `row ${c} counts every example of class ${c}`);
    if (row) assert.equal(ins.perClassAccuracy![c], confusion[c][c] / row);
  }
  assert.equal(total, 60);
  assert.equal(diagonal / 60, evaluation.accuracy);
  // Confused images: wrong predictions only, most confident first, top-3 probabilities descending.
  const confidences = ins.confused!.map((c) => {
    assert.notEqual(evaluation.predictions![c.index], c.label);
    assert.equal(c.top3[0].label, evaluation.predictions![c.index]);
    assert.ok(
      c.top3[0].probability >= c.top3[1].probability && c.top3[1].probability >= c.top3[2].probability,
    );
    return c.top3[0].probability;
  });
  assert.deepEqual(confidences, [...confidences].sort((a, b) => b - a));
  // Feature maps: the 3 channels of conv2d1 for 3 images, 12×12 each.
  const maps = ins.featureMaps!.layers[0].maps;
  assert.equal(maps.length, 3);
  assert.deepEqual(maps[0].map((m) => [m.width, m.height]), [[12, 12], [12, 12], [12, 12]]);
  // Layer times cover every layer and their shares sum to 1.
  assert.deepEqual(ins.layerTimes.map((t) => t.name), model.layers.map((l) => l.name));
  const shares = ins.layerTimes.reduce((s, t) => s + t.share, 0);
  assert.ok(Math.abs(shares - 1) < 1e-3, `shares sum to ${shares}`);
});

Deno.test("computeInsights: an embedding model gets a 2-D scatter and no confusion matrix", async () => {
  const test = tinyDataset(30);
  const model = new Model({
    input: [1, 4, 4],
    layers: [{ type: "flatten" }, { type: "dense", units: 5 }],
  }, { registry, device, rng: new Rng(2) });
  const loss = registry.loss("contrastive")({});
  const evaluation = await evaluate(model, loss, test, { batchSize: 10 });
  const ins = await computeInsights(model, test, evaluation, { scatterPoints: 20 });
  assert.equal(ins.kind, "embedding");
  assert.equal(ins.confusion, undefined);
  assert.equal(ins.embedding!.x.length, 20);
  assert.deepEqual(ins.embedding!.labels, [...test.labels.subarray(0, 20)]);
  assert.equal(ins.filters, undefined, "no convolution, no filters");
});
