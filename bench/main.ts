/**
 * `deno task bench [--json] [--no-peers] [--no-webgpu]`: LeNet-5 training and inference throughput
 * (batch 64) for cnnlab's CPU and WebGPU backends and for TensorFlow.js's CPU backend in the same
 * process, with their ratios. Each figure is the
 * median of at least 5 timed runs after warm-up. Speed targets live here, never in timed tests.
 * @module
 */
import { parseArgs } from "node:util";
import { createRegistry } from "@cnnlab/cnnlab";
import { lenet5 } from "@cnnlab/lenet5";
import { measureThroughput, median } from "@cnnlab/cli/bench";

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean" },
    runs: { type: "string" },
    batch: { type: "string" },
    // Skip TensorFlow.js (for machines that carry only cnnlab, like the GPU machine).
    "no-peers": { type: "boolean" },
    // Skip the WebGPU rows.
    "no-webgpu": { type: "boolean" },
  },
});
const batch = Number(flags.batch ?? 64);
const runs = Math.max(5, Number(flags.runs ?? 5));

interface Row {
  framework: string;
  backend: string;
  task: "lenet5-train" | "lenet5-infer";
  device?: string;
  batch: number;
  imagesPerSecond: number;
}
const results: Row[] = [];
const log = (s: string) => flags.json || console.log(s);

// cnnlab
log(`LeNet-5, batch ${batch}, median of ${runs} runs after warm-up`);
const registry = createRegistry();
const ours = await measureThroughput({
  registry,
  backend: "cpu",
  spec: lenet5(),
  batchSize: batch,
  runs,
  steps: 5,
});
results.push({
  framework: "cnnlab",
  backend: "cpu",
  task: "lenet5-train",
  batch,
  imagesPerSecond: ours.trainImagesPerSecond,
});
results.push({
  framework: "cnnlab",
  backend: "cpu",
  task: "lenet5-infer",
  batch,
  imagesPerSecond: ours.inferImagesPerSecond,
});

// cnnlab on WebGPU, where an adapter exists (a software one here; a real GPU on the device machine).
const adapter = flags["no-webgpu"] ? null : await navigator.gpu?.requestAdapter().catch(() => null);
if (adapter) {
  const gpu = await measureThroughput({
    registry,
    backend: "webgpu",
    spec: lenet5(),
    batchSize: batch,
    runs,
    steps: 5,
  });
  const described = (await registry.device("webgpu")).backend.describe?.() ?? {};
  const device = JSON.stringify(described.adapter ?? {});
  results.push({
    framework: "cnnlab",
    backend: "webgpu",
    task: "lenet5-train",
    batch,
    imagesPerSecond: gpu.trainImagesPerSecond,
    device,
  });
  results.push({
    framework: "cnnlab",
    backend: "webgpu",
    task: "lenet5-infer",
    batch,
    imagesPerSecond: gpu.inferImagesPerSecond,
    device,
  });
}

// TensorFlow.js, CPU backend: the same network (NHWC), Adam, softmax cross-entropy.
const peer = flags["no-peers"] ? undefined : await measureTfjs(batch, runs);
if (peer) {
  results.push({
    framework: "tfjs",
    backend: "cpu",
    task: "lenet5-train",
    batch,
    imagesPerSecond: peer.train,
  });
  results.push({
    framework: "tfjs",
    backend: "cpu",
    task: "lenet5-infer",
    batch,
    imagesPerSecond: peer.infer,
  });
}

if (flags.json) {
  console.log(JSON.stringify({ results }, null, 2));
} else {
  for (const r of results) {
    log(
      `${r.framework.padEnd(8)} ${r.backend.padEnd(6)} ${r.task.padEnd(14)} ${
        r.imagesPerSecond.toFixed(1).padStart(9)
      } img/s`,
    );
  }
  if (peer) {
    const train = (ours.trainImagesPerSecond / peer.train).toFixed(1);
    log(
      `ratio cnnlab/tfjs (cpu): train ${train}×, infer ${
        (ours.inferImagesPerSecond / peer.infer).toFixed(2)
      }×`,
    );
  }
}

async function measureTfjs(batchSize: number, timedRuns: number): Promise<{ train: number; infer: number }> {
  const { tf } = await import("../tests/tfjs.ts");
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 6,
        kernelSize: 5,
        padding: "same",
        activation: "relu",
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 120, activation: "relu" }),
      tf.layers.dense({ units: 84, activation: "relu" }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  const optimizer = tf.train.adam(0.001);
  const x = tf.randomUniform([batchSize, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([batchSize], 0, 10, "int32"), 10).toFloat();
  const trainStep = async () => {
    const cost = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.predict(x) as typeof x),
      true,
    );
    await cost!.data();
    cost!.dispose();
  };
  const inferStep = async () => {
    const out = model.predict(x) as typeof x;
    await out.data();
    out.dispose();
  };
  const time = async (step: () => Promise<void>, steps: number) => {
    for (let i = 0; i < 2; i++) await step();
    const rates: number[] = [];
    for (let r = 0; r < timedRuns; r++) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) await step();
      rates.push((steps * batchSize) / ((performance.now() - t0) / 1000));
    }
    return median(rates);
  };
  return { train: await time(trainStep, 2), infer: await time(inferStep, 5) };
}
