/**
 * Private helper of the WebGPU loss kernels: per-row workgroup reductions and the batch mean.
 *
 * Design notes: a loss over `[n, k]` runs in two passes. The row pass launches one `ROW_LANES`-wide
 * workgroup per example (a 2-D grid past 65,535 rows); its lanes stride over the classes and combine
 * their partial max or sums with `rowMax` / `rowSum`, tree reductions in workgroup memory. The
 * forward row pass writes one loss per example to a temporary buffer; `meanOfRows` then sums those
 * in a single 256-wide workgroup and divides by n. Both passes accumulate in float32 (the CPU
 * kernels in float64), well inside the 1e-4 / 1e-3 tolerances for batches and class counts of
 * practical size. Gradient kernels need only the row pass: each workgroup reduces its row, then
 * writes it.
 * @module
 */
import type { KernelInput } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { bindings, runKernel } from "@cnnlab/backend-webgpu/dispatch";

/** Lanes per row workgroup. */
export const ROW_LANES = 64;

/**
 * WGSL of a row pass: `rowMax(v, lid)` and `rowSum(v, lid)` (each returns the workgroup's combined
 * value to every lane), and a `main` whose prologue sets `row`, `lid`, `n = params[0]`,
 * `k = params[1]` and `o = row·k`, then runs `body`.
 *
 * @param inputs Number of inputs.
 * @param body WGSL statements.
 * @returns The shader code.
 */
export function rowCode(inputs: number, body: string): string {
  return `${bindings(inputs)}
var<workgroup> red: array<f32, ${ROW_LANES}>;
fn rowMax(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_LANES / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn rowSum(v: f32, lid: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${ROW_LANES / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
@compute @workgroup_size(${ROW_LANES}) fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                      @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  let n = params[0];
  let k = params[1];
  if (row >= n) { return; }
  let o = row * k;
  ${body}
}`;
}

/** WGSL fragment: `m` and `lse`, the max and log-sum-exp of row `o .. o + k` of `in0`. */
export const ROW_LOG_SUM_EXP = `
  var m = -3.4028235e38;
  for (var j = lid; j < k; j += ${ROW_LANES}u) { m = max(m, in0[o + j]); }
  m = rowMax(m, lid);
  var se = 0.0;
  for (var j = lid; j < k; j += ${ROW_LANES}u) { se += exp(in0[o + j] - m); }
  let lse = m + log(rowSum(se, lid));`;

/**
 * Records a row pass with one workgroup per row.
 *
 * @param backend The backend.
 * @param options Op name, code from `rowCode`, inputs, output size, `n` rows and extra parameter words.
 * @returns The output storage.
 */
export function runRows(
  backend: WebGpuBackend,
  options: {
    readonly op: string;
    readonly code: string;
    readonly inputs: readonly KernelInput<GpuStorage>[];
    readonly outputSize: number;
    readonly n: number;
    readonly k: number;
    readonly extra?: readonly number[];
  },
): GpuStorage {
  const { n } = options;
  const gx = Math.min(n, 65535);
  return runKernel(backend, {
    op: options.op,
    code: options.code,
    inputs: options.inputs,
    outputSize: options.outputSize,
    params: [n, options.k, ...(options.extra ?? [])],
    workgroups: [gx, Math.ceil(n / gx), 1],
  });
}

const meanCode = `${bindings(1)}
var<workgroup> part: array<f32, 256>;
// params: [n]
@compute @workgroup_size(256) fn main(@builtin(local_invocation_index) lid: u32) {
  let n = params[0];
  var acc = 0.0;
  for (var i = lid; i < n; i += 256u) { acc += in0[i]; }
  part[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (lid < s) { part[lid] = part[lid] + part[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { out[0] = part[0] / f32(n); }
}`;

/**
 * Runs a forward row pass that writes one loss per row, then averages them: the scalar loss.
 *
 * @param backend The backend.
 * @param options As for `runRows` (the output is the per-row losses, `n` values).
 * @returns The scalar's storage (one value).
 */
export function meanOfRows(
  backend: WebGpuBackend,
  options: Omit<Parameters<typeof runRows>[1], "outputSize">,
): GpuStorage {
  const rows = runRows(backend, { ...options, outputSize: options.n });
  const mean = runKernel(backend, {
    op: options.op,
    code: meanCode,
    inputs: [{ storage: rows, shape: [options.n] }],
    outputSize: 1,
    params: [options.n],
    workgroups: [1, 1, 1],
  });
  backend.release(rows.buffer); // returns to the pool once the recorded passes are submitted
  return mean;
}
