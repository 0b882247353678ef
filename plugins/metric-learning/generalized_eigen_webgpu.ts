/**
 * WebGPU kernels of `generalizedEigenvalues` and `generalizedEigenvaluesGrad`, for `d ≤ 64`.
 *
 * Design notes: the matrices are the embedding width squared, so each op is ONE workgroup of 256
 * invocations that does the whole reduction of `generalized_eigen_solver.ts` in float32:
 *
 * 1. Cholesky `S_w = L Lᵀ` of the symmetric part, column by column (the pivot on one lane, the
 *    column below it on all lanes);
 * 2. `M = L⁻¹ S_b L⁻ᵀ` by two forward substitutions (one lane per column) with a transpose between,
 *    then symmetrised;
 * 3. cyclic Jacobi on M in workgroup memory, in round-robin ("tournament") order: each of the
 *    `d − 1` steps of a sweep rotates `⌊d/2⌋` disjoint pairs at once (their 2×2 blocks do not
 *    interact), rows then columns, accumulating `U`. Sweeps stop when the off-diagonal mass is below
 *    1e-12 of the total (float32 round-off), after at most 30;
 * 4. eigenvalues sorted ascending by rank (lane i counts the values below its own);
 * 5. for the gradient op, `V = L⁻ᵀ U` (back substitution, one lane per column) and
 *    `G = V diag(w) Vᵀ` with each column's weight taken at its sorted rank; `G[i][j]` and `G[j][i]`
 *    are written from one sum, so G is exactly symmetric.
 *
 * M lives in workgroup memory with a row stride of the capacity `D` (16, 32 or 64: one pipeline per
 * capacity, chosen from d); L and U live in a scratch storage buffer bound after `params`
 * (binding k + 2), as `2·d²` floats. Float32 loses about `cond(S_w)·2⁻²⁴` of relative accuracy in
 * the reduction: on well-conditioned inputs results match the float64 reference to ~1e-4.
 *
 * A kernel cannot read GPU values back to throw, so where the CPU kernels raise a RangeError
 * (`S_w` not positive definite, non-finite values), these write NaN to every output value instead.
 * `d > 64`, or an adapter with too little workgroup memory, is refused with a RangeError before any
 * GPU work.
 * @module
 */
import { defineKernel, type Kernel, type KernelInput } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { assertBindable, bindings, f32bits, paramsBuffer, record } from "@cnnlab/backend-webgpu/dispatch";

type NoAttrs = Record<string, never>;

/** Largest matrix size these kernels take. */
export const MAX_WEBGPU_EIGEN_SIZE = 64;
/** Jacobi sweeps before giving up on convergence (each sweep squares the off-diagonal mass). */
const MAX_SWEEPS = 30;
/** Sweeps stop when the off-diagonal mass is at most this fraction of the total. */
const TOLERANCE = 1e-12;
const LANES = 256;

/** Workgroup memory of the capacity-`cap` shader, in bytes. */
function workgroupBytes(cap: number): number {
  // m (cap²), rc + rs (cap/2 each), red (256 vec2), rank + wk (cap each), flag + done.
  return 4 * (cap * cap + cap + 2 * LANES + 2 * cap + 2);
}

/** WGSL of the kernel for capacity `cap` (matrix row stride); `grad` adds step 5. */
function shader(cap: number, grad: boolean): string {
  const k = grad ? 3 : 2;
  return `${bindings(k)}
@group(0) @binding(${k + 2}) var<storage, read_write> scratch: array<f32>;
// params: [d, NaN bits]. scratch: L at [0, d²), U (then V) at [d², 2d²), row-major, stride d.
const D = ${cap}u;
var<workgroup> m: array<f32, ${cap * cap}>;
var<workgroup> rc: array<f32, ${cap / 2}>;
var<workgroup> rs: array<f32, ${cap / 2}>;
var<workgroup> red: array<vec2f, ${LANES}>;
var<workgroup> rank: array<u32, ${cap}>;
var<workgroup> wk: array<f32, ${cap}>;
var<workgroup> flag: u32;
var<workgroup> done: u32;

fn sync() { storageBarrier(); workgroupBarrier(); }

// Players of pair e in step r of a round robin over dp (even) indices: index 0 stays, the others rotate.
fn pairOf(e: u32, r: u32, dp: u32) -> vec2u {
  let a = select(((e - 1u + r) % (dp - 1u)) + 1u, 0u, e == 0u);
  let pos = dp - 1u - e;
  let b = ((pos - 1u + r) % (dp - 1u)) + 1u;
  return vec2u(min(a, b), max(a, b));
}

@compute @workgroup_size(${LANES}) fn main(@builtin(local_invocation_index) lid: u32) {
  let d = params[0];
  let dd = d * d;
  if (lid == 0u) { flag = 0u; }
  // 1. Cholesky of (S_w + S_wᵀ)/2, lower triangle in m.
  for (var t = lid; t < dd; t += ${LANES}u) {
    let i = t / d; let j = t % d;
    m[i * D + j] = 0.5 * (in1[i * d + j] + in1[j * d + i]);
  }
  workgroupBarrier();
  for (var j = 0u; j < d; j++) {
    if (lid == 0u) {
      var piv = m[j * D + j];
      for (var q = 0u; q < j; q++) { piv -= m[j * D + q] * m[j * D + q]; }
      if (!(piv > 0.0)) { flag = 1u; piv = 1.0; }
      m[j * D + j] = sqrt(piv);
    }
    workgroupBarrier();
    let ljj = m[j * D + j];
    for (var i = j + 1u + lid; i < d; i += ${LANES}u) {
      var v = m[i * D + j];
      for (var q = 0u; q < j; q++) { v -= m[i * D + q] * m[j * D + q]; }
      m[i * D + j] = v / ljj;
    }
    workgroupBarrier();
  }
  for (var t = lid; t < dd; t += ${LANES}u) {
    let i = t / d; let j = t % d;
    scratch[t] = select(0.0, m[i * D + j], j <= i);
    scratch[dd + t] = select(0.0, 1.0, i == j);
  }
  sync();
  // 2. M = L⁻¹ S_b L⁻ᵀ: forward-solve the columns of (S_b + S_bᵀ)/2, transpose, forward-solve again.
  for (var t = lid; t < dd; t += ${LANES}u) {
    let i = t / d; let j = t % d;
    m[i * D + j] = 0.5 * (in0[i * d + j] + in0[j * d + i]);
  }
  workgroupBarrier();
  for (var step = 0u; step < 2u; step++) {
    if (lid < d) {
      for (var i = 0u; i < d; i++) {
        var v = m[i * D + lid];
        for (var q = 0u; q < i; q++) { v -= scratch[i * d + q] * m[q * D + lid]; }
        m[i * D + lid] = v / scratch[i * d + i];
      }
    }
    workgroupBarrier();
    for (var t = lid; t < dd; t += ${LANES}u) {
      let i = t / d; let j = t % d;
      if (i < j) {
        let upper = m[i * D + j];
        let lower = m[j * D + i];
        // First pass: transpose. Second pass: symmetrise.
        m[i * D + j] = select(lower, 0.5 * (upper + lower), step == 1u);
        m[j * D + i] = select(upper, 0.5 * (upper + lower), step == 1u);
      }
    }
    workgroupBarrier();
  }
  // 3. Cyclic Jacobi, round-robin order, U accumulated in scratch.
  let dp = d + (d & 1u);
  let pairs = dp / 2u;
  for (var sweep = 0u; sweep < ${MAX_SWEEPS}u; sweep++) {
    var acc = vec2f(0.0);
    for (var t = lid; t < dd; t += ${LANES}u) {
      let i = t / d; let j = t % d;
      let v = m[i * D + j];
      acc += vec2f(select(v * v, 0.0, i == j), v * v);
    }
    red[lid] = acc;
    workgroupBarrier();
    for (var s = ${LANES / 2}u; s > 0u; s = s >> 1u) {
      if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
      workgroupBarrier();
    }
    if (lid == 0u) { done = select(0u, 1u, red[0].x <= ${TOLERANCE} * red[0].y || flag == 1u); }
    if (workgroupUniformLoad(&done) == 1u) { break; }
    for (var r = 0u; r + 1u < dp; r++) {
      if (lid < pairs) {
        let pq = pairOf(lid, r, dp);
        var c = 1.0;
        var s = 0.0;
        if (pq.y < d) {
          let apq = m[pq.x * D + pq.y];
          if (apq != 0.0) {
            // The angle that zeroes m[p][q] (Rutishauser's stable form); theta² may overflow to
            // inf, which gives the identity rotation.
            let theta = (m[pq.y * D + pq.y] - m[pq.x * D + pq.x]) / (2.0 * apq);
            let tn = select(-1.0, 1.0, theta >= 0.0) / (abs(theta) + sqrt(theta * theta + 1.0));
            c = 1.0 / sqrt(tn * tn + 1.0);
            s = tn * c;
          }
        }
        rc[lid] = c;
        rs[lid] = s;
      }
      workgroupBarrier();
      for (var t = lid; t < pairs * d; t += ${LANES}u) { // rows p, q of m
        let e = t / d; let q = t % d;
        let pq = pairOf(e, r, dp);
        if (pq.y < d) {
          let c = rc[e]; let s = rs[e];
          let ap = m[pq.x * D + q]; let aq = m[pq.y * D + q];
          m[pq.x * D + q] = c * ap - s * aq;
          m[pq.y * D + q] = s * ap + c * aq;
        }
      }
      workgroupBarrier();
      for (var t = lid; t < pairs * d; t += ${LANES}u) { // columns p, q of m and of U
        let e = t / d; let q = t % d;
        let pq = pairOf(e, r, dp);
        if (pq.y < d) {
          let c = rc[e]; let s = rs[e];
          let ap = m[q * D + pq.x]; let aq = m[q * D + pq.y];
          m[q * D + pq.x] = c * ap - s * aq;
          m[q * D + pq.y] = s * ap + c * aq;
          let up = scratch[dd + q * d + pq.x]; let uq = scratch[dd + q * d + pq.y];
          scratch[dd + q * d + pq.x] = c * up - s * uq;
          scratch[dd + q * d + pq.y] = s * up + c * uq;
        }
      }
      sync();
    }
  }
  // 4. Ranks of the eigenvalues (ascending, ties by index).
  if (lid < d) {
    let v = m[lid * D + lid];
    var below = 0u;
    for (var j = 0u; j < d; j++) {
      let u = m[j * D + j];
      if (u < v || (u == v && j < lid)) { below++; }
    }
    rank[lid] = below;
  }
  workgroupBarrier();
  let nan = bitcast<f32>(params[1]);
  let bad = flag == 1u;
${grad ? GRAD_TAIL : VALUES_TAIL}
}`;
}

const VALUES_TAIL = `  if (lid < d) { out[rank[lid]] = select(m[lid * D + lid], nan, bad); }`;

const GRAD_TAIL = `  // 5. V = L⁻ᵀ U in place (lane c solves column c), then G = V diag(w) Vᵀ.
  if (lid < d) {
    wk[lid] = in2[rank[lid]];
    for (var ii = 0u; ii < d; ii++) {
      let i = d - 1u - ii;
      var v = scratch[dd + i * d + lid];
      for (var q = i + 1u; q < d; q++) { v -= scratch[q * d + i] * scratch[dd + q * d + lid]; }
      scratch[dd + i * d + lid] = v / scratch[i * d + i];
    }
  }
  sync();
  for (var t = lid; t < dd; t += ${LANES}u) {
    let i = t / d; let j = t % d;
    if (i <= j) {
      var g = 0.0;
      for (var q = 0u; q < d; q++) { g += scratch[dd + i * d + q] * wk[q] * scratch[dd + j * d + q]; }
      g = select(g, nan, bad);
      out[i * d + j] = g;
      out[j * d + i] = g;
    }
  }`;

const shaders = new Map<string, string>();

/** Records the single-workgroup pass of either op. */
function solve(
  backend: WebGpuBackend,
  op: string,
  inputs: readonly KernelInput<GpuStorage>[],
  grad: boolean,
): GpuStorage {
  const d = inputs[0].shape[0];
  if (d > MAX_WEBGPU_EIGEN_SIZE) {
    throw new RangeError(
      `Cannot run op "${op}" on backend "webgpu": the matrices are ${d}×${d}, above the ${MAX_WEBGPU_EIGEN_SIZE}×${MAX_WEBGPU_EIGEN_SIZE} one workgroup solves; use a narrower embedding or --backend cpu`,
    );
  }
  const cap = d <= 16 ? 16 : d <= 32 ? 32 : 64;
  const limit = backend.device.limits.maxComputeWorkgroupStorageSize;
  if (workgroupBytes(cap) > limit) {
    throw new RangeError(
      `Cannot run op "${op}" on backend "webgpu": a ${d}×${d} solve needs ${
        workgroupBytes(cap)
      } bytes of workgroup memory and this adapter allows ${limit}; use --backend cpu`,
    );
  }
  const outputSize = grad ? d * d : d;
  assertBindable(backend, op, [...inputs.map((i) => i.storage.size), outputSize, 2 * d * d]);
  const key = `${cap}/${grad}`;
  let code = shaders.get(key);
  if (!code) shaders.set(key, code = shader(cap, grad));
  const out = backend.acquire(outputSize * 4);
  const scratch = backend.acquire(2 * d * d * 4);
  record(backend, code, [
    ...inputs.map((i) => i.storage.buffer),
    out,
    paramsBuffer(backend, [d, f32bits(NaN)]),
    scratch,
  ], [1, 1, 1]);
  backend.release(scratch); // back to the pool once the recorded pass is submitted
  return { buffer: out, size: outputSize };
}

/**
 * WebGPU kernel of `generalizedEigenvalues` (d ≤ 64): one workgroup, float32. Writes NaN where the
 * CPU kernel throws (`S_w` not positive definite, non-finite values).
 */
export const generalizedEigenvaluesWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "generalizedEigenvalues",
  backend: "webgpu",
  run(inputs, _attrs, _outShape, backend) {
    return solve(backend as unknown as WebGpuBackend, "generalizedEigenvalues", inputs, false);
  },
});

/**
 * WebGPU kernel of `generalizedEigenvaluesGrad` (d ≤ 64): `V diag(w) Vᵀ` in one workgroup, float32.
 * Writes NaN where the CPU kernel throws.
 */
export const generalizedEigenvaluesGradWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<
  GpuStorage,
  NoAttrs
>({
  op: "generalizedEigenvaluesGrad",
  backend: "webgpu",
  run(inputs, _attrs, _outShape, backend) {
    return solve(backend as unknown as WebGpuBackend, "generalizedEigenvaluesGrad", inputs, true);
  },
});

/** Both WebGPU kernels, for a plugin's `kernels` beside `ldaKernels`. */
export const generalizedEigenWebgpuKernels: readonly Kernel<GpuStorage, NoAttrs>[] = [
  generalizedEigenvaluesWebgpu,
  generalizedEigenvaluesGradWebgpu,
];
