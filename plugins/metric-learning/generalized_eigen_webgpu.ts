/**
 * WebGPU kernels of `generalizedEigenvalues` and `generalizedEigenvaluesGrad`, for `d ≤ 64`.
 *
 * Design notes: the matrices are the embedding width squared, so the solve is ONE workgroup of 256
 * invocations that does the whole reduction of `generalized_eigen_solver.ts` in float32:
 *
 * 1. Cholesky `S_w = L Lᵀ` of the symmetric part, column by column (the pivot on one lane, the
 *    column below it on all lanes);
 * 2. `M = L⁻¹ S_b L⁻ᵀ` by two forward substitutions (one lane per column) with a transpose between,
 *    then symmetrised;
 * 3. cyclic Jacobi on M in round-robin ("tournament") order: each of the `d − 1` steps of a sweep
 *    rotates `⌊d/2⌋` disjoint pairs at once (their 2×2 blocks do not interact), rows then columns,
 *    accumulating `U`. Sweeps stop when the off-diagonal mass (a tree reduction in workgroup
 *    memory) is below 1e-12 of the total, i.e. at float32 round-off, after at most 30;
 * 4. eigenvalues sorted ascending by rank (lane i counts the values below its own and writes its
 *    value at that rank);
 * 5. for the gradient op, `V = L⁻ᵀ U` (back substitution, one lane per column), each column's weight
 *    `w[rank]`, then a second, elementwise pass `G = V diag(w) Vᵀ` (one invocation per element;
 *    `G[i][j]` and `G[j][i]` are the same sum, so G is exactly symmetric).
 *
 * Where the matrices live: in a storage workspace (the solve pass's output, `layout(d)`), not in
 * workgroup memory. WGSL zero-initialises workgroup memory, and on Mesa's llvmpipe (the software
 * adapter tests run on) compiling a shader with a 4096-float workgroup array took ~100 s (256
 * floats: 0.8 s, 1024: 6.5 s); with the workspace in storage the solve compiles in under a second.
 * One workgroup's 3·d² floats (48 KiB at d = 64) stay in a real GPU's L1/L2 cache, and the solve is
 * bound by its ~3 barriers per Jacobi step, not by memory. Only the reduction tree and two flags
 * are workgroup variables. Loop bounds travel in `params` (the sweep cap too), so LLVM does not
 * unroll the sweeps.
 *
 * Float32 loses about `cond(S_w)·2⁻²⁴` of relative accuracy in the reduction: on well-conditioned
 * inputs results match the float64 reference to ~1e-4.
 *
 * A kernel cannot read GPU values back to throw, so where the CPU kernels raise a RangeError
 * (`S_w` not positive definite, non-finite values), these write NaN to every output value instead.
 * `d > 64` is refused with a RangeError before any GPU work.
 * @module
 */
import { defineKernel, type Kernel, type KernelInput } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import { bindings, f32bits, PRELUDE, runKernel } from "@cnnlab/backend-webgpu/dispatch";

type NoAttrs = Record<string, never>;

/** Largest matrix size these kernels take. */
export const MAX_WEBGPU_EIGEN_SIZE = 64;
/** Jacobi sweeps before giving up on convergence (each sweep squares the off-diagonal mass). */
const MAX_SWEEPS = 30;
/** Sweeps stop when the off-diagonal mass is at most this fraction of the total. */
const TOLERANCE = 1e-12;
const LANES = 256;

/** Lanes that reduce the off-diagonal mass (the workgroup-memory tree is this wide). */
const REDUCE_LANES = 64;

/** Workspace layout (float offsets) for matrices of size d. */
function layout(d: number) {
  const dd = d * d;
  // λ, L, U (then V), M, rotations (c, s per pair), weights by column.
  const l = d, u = d + dd, m = d + 2 * dd, rot = d + 3 * dd, w = rot + d + 1;
  return { l, u, m, rot, w, size: w + d };
}

/**
 * WGSL of the solve pass; its output is the workspace of `layout(d)`: λ ascending, L, U (with
 * `grad`: V = L⁻ᵀ U in its place, and each column's weight `w[rank]`), M and the rotations.
 * Every matrix is row-major with stride d. params: [d, NaN bits, max sweeps].
 */
function solveCode(grad: boolean): string {
  const k = grad ? 3 : 2;
  return `${bindings(k)}
var<workgroup> red: array<vec2f, ${REDUCE_LANES}>;
var<workgroup> flag: atomic<u32>; // set when S_w is not positive definite or a value is not finite
var<workgroup> done: u32;

fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

// Storage written by one lane and read by another needs both barriers.
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
  let lo = d;
  let uo = d + dd;
  let mo = d + 2u * dd;
  let ro = d + 3u * dd;
  let wo = ro + d + 1u;
  // flag starts at 0: WGSL zero-initialises workgroup memory.
  // 1. Cholesky of (S_w + S_wᵀ)/2 in M's place, column by column; then L and U = I.
  for (var t = lid; t < dd; t += ${LANES}u) {
    let i = t / d; let j = t % d;
    out[mo + t] = 0.5 * (in1[i * d + j] + in1[j * d + i]);
    if (!finite(in1[t])) { atomicOr(&flag, 1u); }
  }
  sync();
  for (var j = 0u; j < d; j++) {
    if (lid == 0u) {
      var piv = out[mo + j * d + j];
      for (var q = 0u; q < j; q++) { piv -= out[mo + j * d + q] * out[mo + j * d + q]; }
      if (!(piv > 0.0)) { atomicOr(&flag, 1u); piv = 1.0; }
      out[mo + j * d + j] = sqrt(piv);
    }
    sync();
    let ljj = out[mo + j * d + j];
    for (var i = j + 1u + lid; i < d; i += ${LANES}u) {
      var v = out[mo + i * d + j];
      for (var q = 0u; q < j; q++) { v -= out[mo + i * d + q] * out[mo + j * d + q]; }
      out[mo + i * d + j] = v / ljj;
    }
    sync();
  }
  for (var t = lid; t < dd; t += ${LANES}u) {
    let i = t / d; let j = t % d;
    out[lo + t] = select(0.0, out[mo + t], j <= i);
    out[uo + t] = select(0.0, 1.0, i == j);
  }
  sync();
  // 2. M = L⁻¹ S_b L⁻ᵀ: forward-solve the columns of (S_b + S_bᵀ)/2, transpose, forward-solve again.
  for (var t = lid; t < dd; t += ${LANES}u) {
    let i = t / d; let j = t % d;
    out[mo + t] = 0.5 * (in0[i * d + j] + in0[j * d + i]);
    if (!finite(in0[t])) { atomicOr(&flag, 1u); }
  }
  sync();
  for (var step = 0u; step < 2u; step++) {
    if (lid < d) {
      for (var i = 0u; i < d; i++) {
        var v = out[mo + i * d + lid];
        for (var q = 0u; q < i; q++) { v -= out[lo + i * d + q] * out[mo + q * d + lid]; }
        out[mo + i * d + lid] = v / out[lo + i * d + i];
      }
    }
    sync();
    for (var t = lid; t < dd; t += ${LANES}u) {
      let i = t / d; let j = t % d;
      if (i < j) {
        let upper = out[mo + t];
        let lower = out[mo + j * d + i];
        // First step: transpose. Second step: symmetrise.
        out[mo + t] = select(lower, 0.5 * (upper + lower), step == 1u);
        out[mo + j * d + i] = select(upper, 0.5 * (upper + lower), step == 1u);
      }
    }
    sync();
  }
  // 3. Cyclic Jacobi, round-robin order, U accumulated beside M.
  let dp = d + (d & 1u);
  let pairs = dp / 2u;
  for (var sweep = 0u; sweep < ${MAX_SWEEPS}u; sweep++) {
    if (lid < ${REDUCE_LANES}u) {
      var acc = vec2f(0.0);
      for (var t = lid; t < dd; t += ${REDUCE_LANES}u) {
        let v = out[mo + t];
        acc += vec2f(select(v * v, 0.0, t / d == t % d), v * v);
      }
      red[lid] = acc;
    }
    workgroupBarrier();
    for (var s = ${REDUCE_LANES / 2}u; s > 0u; s = s >> 1u) {
      if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
      workgroupBarrier();
    }
    if (lid == 0u) { done = select(0u, 1u, red[0].x <= ${TOLERANCE} * red[0].y || atomicLoad(&flag) == 1u); }
    if (workgroupUniformLoad(&done) == 1u) { break; }
    for (var r = 0u; r + 1u < dp; r++) {
      if (lid < pairs) {
        let pq = pairOf(lid, r, dp);
        var c = 1.0;
        var s = 0.0;
        if (pq.y < d) {
          let apq = out[mo + pq.x * d + pq.y];
          if (apq != 0.0) {
            // The angle that zeroes m[p][q] (Rutishauser's stable form); theta² may overflow to
            // inf, which gives the identity rotation.
            let theta = (out[mo + pq.y * d + pq.y] - out[mo + pq.x * d + pq.x]) / (2.0 * apq);
            let tn = select(-1.0, 1.0, theta >= 0.0) / (abs(theta) + sqrt(theta * theta + 1.0));
            c = 1.0 / sqrt(tn * tn + 1.0);
            s = tn * c;
          }
        }
        out[ro + 2u * lid] = c;
        out[ro + 2u * lid + 1u] = s;
      }
      sync();
      for (var t = lid; t < pairs * d; t += ${LANES}u) { // rows p, q of M
        let e = t / d; let col = t % d;
        let pq = pairOf(e, r, dp);
        if (pq.y < d) {
          let c = out[ro + 2u * e]; let s = out[ro + 2u * e + 1u];
          let ap = out[mo + pq.x * d + col]; let aq = out[mo + pq.y * d + col];
          out[mo + pq.x * d + col] = c * ap - s * aq;
          out[mo + pq.y * d + col] = s * ap + c * aq;
        }
      }
      sync();
      for (var t = lid; t < pairs * d; t += ${LANES}u) { // columns p, q of M and of U
        let e = t / d; let row = t % d;
        let pq = pairOf(e, r, dp);
        if (pq.y < d) {
          let c = out[ro + 2u * e]; let s = out[ro + 2u * e + 1u];
          let ap = out[mo + row * d + pq.x]; let aq = out[mo + row * d + pq.y];
          out[mo + row * d + pq.x] = c * ap - s * aq;
          out[mo + row * d + pq.y] = s * ap + c * aq;
          let up = out[uo + row * d + pq.x]; let uq = out[uo + row * d + pq.y];
          out[uo + row * d + pq.x] = c * up - s * uq;
          out[uo + row * d + pq.y] = s * up + c * uq;
        }
      }
      sync();
    }
  }
  // 4. Eigenvalues in ascending order: lane i counts those below its own (ties by index). NaN
  // everywhere when S_w is not positive definite.
  let bad = atomicLoad(&flag) == 1u;
  let nan = bitcast<f32>(params[1]);
  if (lid < d) {
    let v = out[mo + lid * d + lid];
    var below = 0u;
    for (var j = 0u; j < d; j++) {
      let u = out[mo + j * d + j];
      if (u < v || (u == v && j < lid)) { below++; }
    }
    out[below] = select(v, nan, bad);${grad ? GRAD_TAIL : ""}
  }
}`;
}

const GRAD_TAIL = `
    // 5. The weight of column lid, w[its rank]; V = L⁻ᵀ U in place (lane c solves column c, reading
    // only L and its own column).
    out[wo + lid] = in2[below];
    for (var ii = 0u; ii < d; ii++) {
      let i = d - 1u - ii;
      var x = out[uo + i * d + lid];
      for (var q = i + 1u; q < d; q++) { x -= out[lo + q * d + i] * out[uo + q * d + lid]; }
      out[uo + i * d + lid] = select(x / out[lo + i * d + i], nan, bad);
    }`;

// in0: the workspace of the grad solve; params [d, V offset, weights offset]. One invocation per
// element of G; G[i][j] and G[j][i] are the same sum over the same (min, max) pair, so G is exactly
// symmetric.
const outerCode = `${bindings(1)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = index(gid, nwg);
  let d = params[0];
  if (e >= d * d) { return; }
  let a = min(e / d, e % d);
  let b = max(e / d, e % d);
  let vo = params[1];
  let wo = params[2];
  var g = 0.0;
  for (var q = 0u; q < d; q++) { g += in0[vo + a * d + q] * in0[wo + q] * in0[vo + b * d + q]; }
  out[e] = g;
}`;

const solveForward = solveCode(false), solveGrad = solveCode(true);

/** Records the single-workgroup solve pass of either op; returns the workspace. */
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
  return runKernel(backend, {
    op,
    code: grad ? solveGrad : solveForward,
    inputs,
    outputSize: layout(d).size,
    params: [d, f32bits(NaN), MAX_SWEEPS],
    workgroups: [1, 1, 1],
  });
}

/**
 * WebGPU kernel of `generalizedEigenvalues` (d ≤ 64): one workgroup, float32. Writes NaN where the
 * CPU kernel throws (`S_w` not positive definite, non-finite values).
 */
export const generalizedEigenvaluesWebgpu: Kernel<GpuStorage, NoAttrs> = defineKernel<GpuStorage, NoAttrs>({
  op: "generalizedEigenvalues",
  backend: "webgpu",
  run(inputs, _attrs, _outShape, backend) {
    const gpu = backend as unknown as WebGpuBackend;
    const d = inputs[0].shape[0];
    const workspace = solve(gpu, "generalizedEigenvalues", inputs, false);
    const out = gpu.acquire(d * 4);
    gpu.encoder().copyBufferToBuffer(workspace.buffer, 0, out, 0, Math.ceil(d / 4) * 16);
    gpu.passRecorded();
    gpu.release(workspace.buffer); // back to the pool once the recorded passes are submitted
    return { buffer: out, size: d };
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
    const gpu = backend as unknown as WebGpuBackend;
    const d = inputs[0].shape[0];
    const workspace = solve(gpu, "generalizedEigenvaluesGrad", inputs, true);
    const out = runKernel(gpu, {
      op: "generalizedEigenvaluesGrad",
      code: outerCode,
      inputs: [{ storage: workspace, shape: [workspace.size] }],
      outputSize: d * d,
      params: [d, layout(d).u, layout(d).w],
    });
    gpu.release(workspace.buffer); // back to the pool once the recorded passes are submitted
    return out;
  },
});

/** Both WebGPU kernels, for a plugin's `kernels` beside `ldaKernels`. */
export const generalizedEigenWebgpuKernels: readonly Kernel<GpuStorage, NoAttrs>[] = [
  generalizedEigenvaluesWebgpu,
  generalizedEigenvaluesGradWebgpu,
];
