import { run } from "@cnnlab/cli";
import assert from "node:assert/strict";

const silent = async (fn: () => Promise<number>) => {
  const log = console.log, error = console.error;
  const errors: string[] = [];
  console.log = () => {};
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    return { code: await fn(), errors };
  } finally {
    console.log = log;
    console.error = error;
  }
};

Deno.test("cnnlab train on a tiny subset writes the run directory, and eval reloads it", async () => {
  const out = await Deno.makeTempDir();
  const { code, errors } = await silent(() =>
    run([
      "train",
      "--model",
      "lenet5",
      "--dataset",
      "mnist",
      "--limit",
      "256",
      "--test-limit",
      "200",
      "--epochs",
      "2",
      "--batch-size",
      "32",
      "--seed",
      "3",
      "--out",
      out,
      "--json",
    ])
  );
  assert.equal(code, 0, errors.join("\n"));
  const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
  assert.ok(summary.metrics.test.accuracy > 0.3, `accuracy ${summary.metrics.test.accuracy}`);
  assert.ok(summary.metrics.test.accuracy <= 1);
  assert.ok(summary.throughput.trainImagesPerSecond > 0);
  const lines = (await Deno.readTextFile(`${out}/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.deepEqual(lines.map((l) => l.epoch), [1, 2]);
  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.equal(config.seed, 3);
  assert.equal(config.options.schedule, "cosine", "class-score losses decay the rate by default");
  assert.deepEqual(lines.map((l) => l.learningRate), [0.001, 0.0005], "cosine over 2 epochs");
  assert.ok((await Deno.stat(`${out}/checkpoint/tensors.bin`)).isFile);
  let printed = "";
  const log = console.log;
  console.log = (s: string) => (printed += s);
  try {
    assert.equal(await run(["eval", "--checkpoint", out, "--test-limit", "200", "--json"]), 0);
  } finally {
    console.log = log;
  }
  const evaluated = JSON.parse(printed);
  assert.ok(
    Math.abs(evaluated.accuracy - summary.metrics.test.accuracy) < 1e-9,
    `${evaluated.accuracy} vs ${summary.metrics.test.accuracy}`,
  );
  await Deno.remove(out, { recursive: true });
});

Deno.test("cnnlab list --json prints every plugin with its components", async () => {
  let printed = "";
  const log = console.log;
  console.log = (s: string) => (printed += s);
  try {
    assert.equal(await run(["list", "--json"]), 0);
  } finally {
    console.log = log;
  }
  const listing = JSON.parse(printed);
  const all = listing.plugins.flatMap((p: { provides: Record<string, string[]> }) =>
    Object.values(p.provides).flat()
  );
  for (
    const name of [
      "conv2d",
      "conv1d",
      "maxPool2d",
      "lpPool2d",
      "mixedPool2d",
      "prelu",
      "maxout",
      "softmaxCrossEntropy",
      "sgd",
      "adam",
      "mnist",
      "lenet5",
      "cpu",
    ]
  ) {
    assert.ok(all.includes(name), `${name} missing`);
  }
});

Deno.test("cnnlab exits 2 on bad usage and 1 on a failed run, with one-line errors", async () => {
  let r = await silent(() => run(["train", "--epochs", "zero"]));
  assert.equal(r.code, 2);
  assert.match(r.errors[0], /--epochs must be an integer/);
  r = await silent(() => run(["frobnicate"]));
  assert.equal(r.code, 2);
  r = await silent(() => run(["train", "--model", "nope", "--limit", "10", "--test-limit", "10"]));
  assert.equal(r.code, 1);
  assert.match(r.errors[0], /Cannot find model "nope"/);
  r = await silent(() => run(["train", "--plugin", "./no/such/plugin.ts"]));
  assert.equal(r.code, 1);
  assert.match(r.errors[0], /Cannot load plugin/);
  const dir = await Deno.makeTempDir();
  r = await silent(() => run(["train", "--data", dir, "--limit", "10"]));
  assert.equal(r.code, 1);
  assert.match(r.errors[0], new RegExp(dir));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cnnlab train with an embedding loss writes Recall@1 and the raw-pixel baseline", async () => {
  const out = await Deno.makeTempDir();
  const { code, errors } = await silent(() =>
    run([
      "train",
      "--model",
      "lenet5-embed",
      "--loss",
      "triplet",
      "--embedding-dim",
      "8",
      "--limit",
      "300",
      "--test-limit",
      "200",
      "--epochs",
      "1",
      "--out",
      out,
      "--json",
    ])
  );
  assert.equal(code, 0, errors.join("\n"));
  const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
  const test = summary.metrics.test;
  assert.ok(test.recallAt1 > 0.3 && test.recallAt1 <= 1, `recall ${test.recallAt1}`);
  assert.ok(test.rawPixelRecallAt1 > 0.5, `raw ${test.rawPixelRecallAt1}`);
  assert.equal(test.accuracy, undefined);
  assert.equal(test.distances.positive.length, 40);
  const config = JSON.parse(await Deno.readTextFile(`${out}/config.json`));
  assert.equal(config.options.batchSize, 100);
  assert.equal(config.options.schedule, "none", "embedding losses keep the rate by default");
  assert.equal(config.model.layers.at(-1).units, 8);
  await Deno.remove(out, { recursive: true });
});

Deno.test("cnnlab train --cpu-kernels ts --threads 1 runs the TypeScript path and records it", async () => {
  const { cpuGemmSettings, setCpuKernels, setCpuThreads } = await import("@cnnlab/backend-cpu");
  const before = cpuGemmSettings();
  const out = await Deno.makeTempDir();
  try {
    const r = await silent(() =>
      run([
        "train",
        "--cpu-kernels",
        "ts",
        "--threads",
        "1",
        "--limit",
        "64",
        "--test-limit",
        "32",
        "--epochs",
        "1",
        "--out",
        out,
        "--json",
      ])
    );
    assert.equal(r.code, 0, r.errors.join("\n"));
    const env = JSON.parse(await Deno.readTextFile(`${out}/summary.json`)).environment;
    assert.equal(env.kernels, "ts");
    assert.equal(env.threads, 1);
  } finally {
    setCpuKernels(before.kernels, { relaxedSimd: before.relaxedSimd });
    setCpuThreads(before.threads);
    await Deno.remove(out, { recursive: true });
  }
  const bad = await silent(() => run(["train", "--backend", "webgpu", "--threads", "2"]));
  assert.equal(bad.code, 2);
  assert.match(bad.errors[0], /--threads and --cpu-kernels apply to --backend cpu/);
  const kind = await silent(() => run(["train", "--cpu-kernels", "gpu"]));
  assert.equal(kind.code, 2);
});

Deno.test("cnnlab report and experiment give one-line errors for a missing run, file or field", async () => {
  let r = await silent(() => run(["report", "no/such/run"]));
  assert.equal(r.code, 1);
  assert.match(
    r.errors[0],
    /Cannot read run no\/such\/run: summary\.json is missing; pass a directory written by `cnnlab train`/,
  );
  r = await silent(() => run(["report"]));
  assert.equal(r.code, 2);
  r = await silent(() => run(["experiment", "no/such/grid.json"]));
  assert.equal(r.code, 2);
  assert.match(r.errors[0], /cannot read experiment no\/such\/grid\.json/);
  const file = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    file,
    JSON.stringify({ name: "x", base: ["--seed", "2"], variants: [{ name: "a", args: [] }], seeds: [1] }),
  );
  r = await silent(() => run(["experiment", file]));
  assert.equal(r.code, 1);
  assert.match(r.errors[0], /--seed is set by the experiment itself/);
  await Deno.remove(file);
});
