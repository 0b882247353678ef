/**
 * `deno run -A plugins/backend-cpu/gemm_bench.ts [--size 1024] [--runs 7] [--ts]`: GFLOP/s of
 * `gemm` on a square product for 1 and 2 threads, relaxed and plain SIMD (and the TypeScript
 * kernel with `--ts`); each the median of the runs after two warm-up calls, with the best run
 * beside it (the gap shows how much other work on the machine disturbed the median).
 * @module
 */
import { parseArgs } from "node:util";
import { gemm, setCpuKernels, setCpuThreads } from "./gemm.ts";

const { values: flags } = parseArgs({
  options: { size: { type: "string" }, runs: { type: "string" }, ts: { type: "boolean" } },
});
const size = Number(flags.size ?? 1024);
const runs = Math.max(5, Number(flags.runs ?? 7));

const a = Float32Array.from({ length: size * size }, (_, i) => (i % 7) - 3);
const b = Float32Array.from({ length: size * size }, (_, i) => (i % 5) - 2);
const c = new Float32Array(size * size);
const flop = 2 * size ** 3;

function measure(): { median: number; best: number } {
  for (let i = 0; i < 2; i++) gemm(size, size, size, a, b, c);
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    gemm(size, size, size, a, b, c);
    rates.push(flop / ((performance.now() - t0) * 1e6));
  }
  rates.sort((x, y) => x - y);
  return { median: rates[Math.floor(rates.length / 2)], best: rates[rates.length - 1] };
}

console.log(`gemm ${size}³, median of ${runs} runs after warm-up (best in brackets), GFLOP/s`);
const configs: [string, "ts" | "wasm", boolean][] = [["relaxed SIMD", "wasm", true], [
  "plain SIMD",
  "wasm",
  false,
]];
if (flags.ts) configs.push(["TypeScript", "ts", false]);
for (const [label, kernels, relaxedSimd] of configs) {
  setCpuKernels(kernels, { relaxedSimd });
  for (const threads of kernels === "ts" ? [1] : [1, 2]) {
    setCpuThreads(threads);
    // Let the workers of a new thread count start before timing.
    if (threads > 1) {
      gemm(size, size, size, a, b, c);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const { median, best } = measure();
    console.log(
      `${label.padEnd(13)} ${threads} thread${threads > 1 ? "s" : " "} ${median.toFixed(1).padStart(6)}  (${
        best.toFixed(1)
      })`,
    );
  }
}
