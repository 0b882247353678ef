/**
 * Iteration over broadcast operands in contiguous runs: adjacent axes are merged where every
 * operand's strides allow, then the innermost axis is processed as one run per call, so per-element
 * work is a tight loop with no closures and the index arithmetic happens once per run.
 */
import type { Shape } from "@cnnlab/core";

/** Merged iteration space: sizes and, per operand, element strides (0 on broadcast axes). */
export interface Plan {
  readonly dims: number[];
  readonly strides: number[][];
}

/** Strides of `inShape` viewed in the broadcast space `outShape` (0 where broadcast). */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const out = new Array<number>(rank).fill(0);
  let s = 1;
  for (let d = inShape.length - 1; d >= 0; d--) {
    const od = d + rank - inShape.length;
    out[od] = inShape[d] === 1 ? 0 : s;
    s *= inShape[d];
  }
  return out;
}

/** Drops size-1 axes and merges axis pairs that are contiguous for every operand. */
export function plan(dims: Shape, strides: number[][]): Plan {
  const d: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let i = 0; i < dims.length; i++) {
    if (dims[i] === 1) continue;
    const last = d.length - 1;
    if (last >= 0 && strides.every((s, o) => st[o][last] === s[i] * dims[i])) {
      d[last] *= dims[i];
      for (let o = 0; o < strides.length; o++) st[o][last] = strides[o][i];
    } else {
      d.push(dims[i]);
      for (let o = 0; o < strides.length; o++) st[o].push(strides[o][i]);
    }
  }
  if (d.length === 0) {
    d.push(1);
    for (const s of st) s.push(1);
  }
  return { dims: d, strides: st };
}

/**
 * Calls `run(offsets, n)` once per innermost run, with each operand's starting offset; the
 * inner stride of operand `o` is `p.strides[o][last]`.
 */
export function forEachRun(p: Plan, run: (offsets: Int32Array, n: number) => void): void {
  const rank = p.dims.length;
  const ops = p.strides.length;
  const inner = p.dims[rank - 1];
  const offsets = new Int32Array(ops);
  const idx = new Int32Array(rank);
  let outer = 1;
  for (let i = 0; i < rank - 1; i++) outer *= p.dims[i];
  for (let r = 0; r < outer; r++) {
    run(offsets, inner);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let o = 0; o < ops; o++) offsets[o] += p.strides[o][d];
      if (idx[d] < p.dims[d]) break;
      for (let o = 0; o < ops; o++) offsets[o] -= p.strides[o][d] * p.dims[d];
      idx[d] = 0;
    }
  }
}
