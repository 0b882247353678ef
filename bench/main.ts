/**
 * `deno task bench [--json] [--only TASK,…] [--runs N] [--batch N] [--no-peers] [--no-webgpu]
 * [--threads N] [--cpu-kernels wasm|ts]`
 *
 * Tasks: `lenet5-train` and `lenet5-infer` (images/s at batch 64), `alexnet-forward` (ms per 1 × 3 ×
 * 227 × 227 image, single-tower AlexNet, inference) and `gemm-1024` (GFLOP/s of a 1024³ float32 matrix
 * product: cnnlab and TensorFlow.js multiply two tensors already on their backend and leave the
 * product there, onnxruntime returns it; see `bench/cnnlab.ts`). Rows: cnnlab on its CPU backend (and
 * WebGPU for LeNet-5 where an adapter exists), then, in the same process, TensorFlow.js on its CPU and
 * WebAssembly SIMD backends and onnxruntime-node (native, inference only) where it loads. Each figure
 * is the median of at least 5 timed runs after warm-up. With peers, cnnlab's CPU and TensorFlow.js
 * WebAssembly's LeNet-5 inference are timed run by run in turn (`bench/paired.ts`), since their ratio
 * is a target and this VM's speed drifts between figures taken apart. `--json` prints `{ results,
 * peakRssBytes, cnnlabPeakRssBytes, … }` on stdout and nothing else; the text form prints the rows and
 * cnnlab's speed over each peer's. cnnlab's AlexNet and GEMM rows also carry `threadShares`, the share
 * of the kernels' tasks each thread ran while they were timed: a worker far below 1/threads says its
 * core was busy or slow. The GEMM row's `idealGflops` is the ideal WebAssembly SIMD loop on every core,
 * timed after each of the GEMM's runs (`bench/simd_peak.ts`): near the 1-thread figure, the VM had one
 * core's arithmetic to give at those moments, whatever the kernel.
 *
 * TensorFlow.js and onnxruntime are imported only when peers run, so `--no-peers` needs neither
 * (bench/gpu-machine.sh runs it on a machine that carries only cnnlab). Speed targets live here,
 * never in timed tests.
 * @module
 */
import { parseArgs } from "node:util";
import { simdPeakGflops } from "./simd_peak.ts";
import { createRegistry } from "@cnnlab/cnnlab";
import { cnnlabRows } from "./cnnlab.ts";
import { mib, type Row, sampleRss, startRssSampling, type Task, TASKS } from "./_measure.ts";

const USAGE =
  "usage: deno task bench [--json] [--only TASK,...] [--runs N] [--batch N] [--no-peers] [--no-webgpu]";

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean" },
    // The cpu backend's settings: thread count and "wasm" or "ts" kernels.
    threads: { type: "string" },
    "cpu-kernels": { type: "string" },
    runs: { type: "string" },
    batch: { type: "string" },
    only: { type: "string" },
    // Skip TensorFlow.js and onnxruntime (for machines that carry only cnnlab, like the GPU machine).
    "no-peers": { type: "boolean" },
    // Skip the WebGPU rows.
    "no-webgpu": { type: "boolean" },
  },
});
const batch = Number(flags.batch ?? 64);
const runs = Math.max(5, Number(flags.runs ?? 5));
const asked = flags.only?.split(",").map((t) => t.trim()).filter(Boolean) ?? [...TASKS];
const unknown = asked.filter((t) => !(TASKS as readonly string[]).includes(t));
const tasks: Task[] = TASKS.filter((t) => asked.includes(t));
if (unknown.length || !Number.isInteger(batch) || batch < 1 || !Number.isInteger(runs)) {
  console.error(
    unknown.length
      ? `Cannot run bench task ${unknown.join(", ")}: unknown; tasks are ${TASKS.join(", ")}`
      : `Cannot run bench with --batch ${flags.batch} --runs ${flags.runs}: both must be positive integers`,
  );
  console.error(USAGE);
  Deno.exit(2);
}

const results: Row[] = [];
const log = (s: string) => flags.json ? console.error(s) : console.log(s);
const show = (r: Row) => {
  results.push(r);
  if (!flags.json) console.log(formatRow(r));
};
startRssSampling();

log(`cnnlab bench: ${tasks.join(", ")}; median of ${runs} runs after warm-up; ${cores()} cores`);
const registry = createRegistry();
await registry.device("cpu", {
  ...(flags.threads ? { threads: Number(flags.threads) } : {}),
  ...(flags["cpu-kernels"] ? { kernels: flags["cpu-kernels"] } : {}),
});
// With peers, cnnlab's and TensorFlow.js WebAssembly's LeNet-5 inference are timed in turn (their
// ratio is a target; see bench/paired.ts), after the other rows.
const pairedInfer = !flags["no-peers"] && tasks.includes("lenet5-infer");
for (const r of await cnnlabRows({ registry, backend: "cpu", tasks, batch, runs, pairedInfer })) show(r);

// cnnlab on WebGPU (LeNet-5 only), where an adapter exists (a software one here; a real GPU on the
// device machine).
const lenetTasks = tasks.filter((t) => t.startsWith("lenet5"));
const adapter = flags["no-webgpu"] || lenetTasks.length === 0
  ? null
  : await navigator.gpu?.requestAdapter().catch(() => null);
if (adapter) {
  const described = (await registry.device("webgpu")).backend.describe?.() ?? {};
  const device = JSON.stringify(described.adapter ?? {});
  for (const r of await cnnlabRows({ registry, backend: "webgpu", tasks: lenetTasks, batch, runs, device })) {
    show(r);
  }
}
const cnnlabPeakRssBytes = sampleRss();
// The machine's arithmetic peak now, next to cnnlab's GEMM (see bench/simd_peak.ts).
const simdPeak = tasks.includes("gemm-1024") ? await simdPeakGflops(cores()) : undefined;
if (simdPeak) {
  const gemmRow = results.find((r) =>
    r.framework === "cnnlab" && r.backend === "cpu" && r.task === "gemm-1024"
  );
  const all = simdPeak[cores()];
  log(
    `ideal WebAssembly SIMD loop: ${
      Object.entries(simdPeak).map(([t, g]) =>
        `${g.toFixed(1)} GFLOP/s on ${t} thread${t === "1" ? "" : "s"}`
      )
        .join(", ")
    }${gemmRow?.gflops ? `; cnnlab's GEMM reached ${Math.round((100 * gemmRow.gflops) / all)}% of it` : ""}`,
  );
}

if (!flags["no-peers"]) {
  const { tfjsRows } = await import("./tfjs.ts");
  await tfjsRows({ tasks, batch, runs, onRow: show, pairedInfer });
  if (pairedInfer) {
    const { pairedLenetInfer } = await import("./paired.ts");
    for (const r of await pairedLenetInfer({ registry, batch, runs })) show(r);
  }
  const { onnxRows } = await import("./onnx.ts");
  for (const r of await onnxRows({ tasks, batch, runs })) show(r);
}
const peakRssBytes = sampleRss();

if (flags.json) {
  console.log(JSON.stringify(
    {
      results,
      peakRssBytes,
      cnnlabPeakRssBytes,
      ...(simdPeak ? { simdPeakGflops: simdPeak } : {}),
      runs,
      environment: { deno: Deno.version.deno, v8: Deno.version.v8, os: Deno.build.os, cores: cores() },
    },
    null,
    2,
  ));
} else {
  const ratios = ratioLines(results);
  if (ratios.length) log(`\ncnnlab cpu over each peer (> 1: cnnlab faster):\n${ratios.join("\n")}`);
  log(
    `\npeak resident memory: ${mib(peakRssBytes)} (${mib(cnnlabPeakRssBytes)} before the peers ran)`,
  );
}
// The CPU backend may keep worker threads; they must not hold the process open.
Deno.exit(0);

function cores(): number {
  return navigator.hardwareConcurrency;
}

function figure(r: Row): string {
  if (r.imagesPerSecond !== undefined) return `${r.imagesPerSecond.toFixed(1).padStart(10)} img/s`;
  if (r.msPerImage !== undefined) return `${r.msPerImage.toFixed(1).padStart(10)} ms/image`;
  if (r.gflops !== undefined) return `${r.gflops.toFixed(2).padStart(10)} GFLOP/s`;
  return `         — ${r.note ?? ""}`;
}

function formatRow(r: Row): string {
  const shares = r.threadShares
    ? `   tasks by thread: ${r.threadShares.map((s) => `${Math.round(100 * s)}%`).join(" / ")}`
    : "";
  const ideal = r.idealGflops && r.gflops
    ? `   ideal loop in turn: ${r.idealGflops.toFixed(1)} GFLOP/s (${
      Math.round((100 * r.gflops) / r.idealGflops)
    }%)`
    : "";
  const name = `${r.framework.padEnd(12)} ${r.backend.padEnd(10)} ${r.task.padEnd(16)}`;
  return `${name} ${figure(r)}${shares}${ideal}`;
}

/** Speed of cnnlab's CPU row over each peer's, per task (time ratios inverted for ms/image). */
function ratioLines(rows: readonly Row[]): string[] {
  const speed = (r: Row) => r.imagesPerSecond ?? r.gflops ?? (r.msPerImage ? 1 / r.msPerImage : undefined);
  const lines: string[] = [];
  for (const task of TASKS) {
    const ours = rows.find((r) => r.framework === "cnnlab" && r.backend === "cpu" && r.task === task);
    const oursSpeed = ours && speed(ours);
    if (!oursSpeed) continue;
    const peers = rows.filter((r) => r.framework !== "cnnlab" && r.task === task).map((r) => {
      const s = speed(r);
      return `${r.framework} ${r.backend} ${s ? `${(oursSpeed / s).toFixed(2)}×` : "n/a"}`;
    });
    if (peers.length) lines.push(`  ${task.padEnd(16)} ${peers.join("   ")}`);
  }
  return lines;
}
