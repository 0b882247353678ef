/**
 * Window geometry shared by the WebGPU pooling kernels: the parameter words every kernel starts
 * with, and WGSL helpers for the two directions of the window map.
 *
 * Forward kernels run one invocation per output and scan its clipped window (`span`). Backward
 * kernels are gather-style: one invocation per input element loops over the windows that contain
 * it (`covering`) and sums their contributions, so no two invocations write one element and no
 * atomics are needed. Summing windows in ascending output order matches the CPU kernels' scatter
 * order.
 *
 * Parameters: the words follow the binding convention of `@cnnlab/backend-webgpu/dispatch`
 * (binding k+1, u32 words) but are declared as `array<vec4u>` and read as four vectors up front.
 * On llvmpipe each scalar `params[i]` read is a per-invocation gather that cost as much as a whole
 * input read (11 of them made the backward kernels 5× slower); the vector reads are nearly free, and
 * harmless elsewhere. The words are padded to a multiple of four.
 *
 * Parameter words: `[count, h, w, oh, ow, kh, kw, sh, sw, ph, pw, 0, …op-specific]` (the op's words
 * start at 12: `p3.x` in WGSL), where `count` is the number of invocations (outputs forward, inputs
 * backward).
 * @module
 */
import type { Shape } from "@cnnlab/core";
import { bindings, PRELUDE } from "@cnnlab/backend-webgpu/dispatch";
import type { Pool2dAttrs } from "./pool_options.ts";

/**
 * The parameter words of a pooling kernel: the window's, then `extra` (at most four words, read in
 * WGSL as `p3`), padded to 16 words.
 *
 * @returns `[count, h, w, oh, ow, kh, kw, sh, sw, ph, pw, 0, ...extra, 0…]`.
 */
export function windowParams(
  count: number,
  inShape: Shape,
  outShape: Shape,
  attrs: Pool2dAttrs,
  extra: readonly number[] = [],
): number[] {
  const [, , h, w] = inShape;
  const [, , oh, ow] = outShape;
  const words = [count, h, w, oh, ow, ...attrs.poolSize, ...attrs.stride, ...attrs.padding, 0, ...extra];
  while (words.length < 16) words.push(0);
  return words;
}

/** WGSL shared by every pooling kernel: the bindings, `index`, `span`, `covering` and `helpers`. */
function header(inputs: number, helpers: string): string {
  return `${bindings(inputs, false)}@group(0) @binding(${inputs + 1}) var<storage, read> params: array<vec4u>;
${PRELUDE}${helpers}
// Clipped [start, end) of the input positions of window o along one axis.
fn span(o: u32, k: u32, s: u32, p: u32, size: u32) -> vec2u {
  let a = i32(o * s) - i32(p);
  return vec2u(u32(max(a, 0)), u32(min(a + i32(k), i32(size))));
}
// [first, end) of the windows along one axis that contain input position x (empty when first >= end).
fn covering(x: u32, k: u32, s: u32, p: u32, outSize: u32) -> vec2u {
  let t = x + p;
  return vec2u(select(0u, (t - k) / s + 1u, t >= k), min(t / s + 1u, outSize));
}
`;
}

/** WGSL reading the parameter words as four vectors, then naming the window's. */
const PARAMS = `  let p0 = params[0]; let p1 = params[1]; let p2 = params[2]; let p3 = params[3];
  let h = p0.y; let w = p0.z; let oh = p0.w; let ow = p1.x;
  let kh = p1.y; let kw = p1.z; let sh = p1.w; let sw = p2.x; let ph = p2.y; let pw = p2.z;`;

/**
 * A forward kernel: one invocation per output `o`, with `plane`, the output row `oi` and column
 * `oj`, the clipped input `rows` and `cols` of its window and the plane's input offset `base` in
 * scope (with the parameter vectors `p0`…`p3`) before `body`, which writes `out[o]`; `helpers`
 * are extra WGSL functions.
 *
 * @returns WGSL.
 */
export function forwardCode(inputs: number, body: string, helpers = ""): string {
  return `${header(inputs, helpers)}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
${PARAMS}
  let o = index(gid, nwg);
  if (o >= p0.x) { return; }
  let plane = o / (oh * ow);
  let inPlane = o - plane * oh * ow;
  let oi = inPlane / ow;
  let oj = inPlane - oi * ow;
  let rows = span(oi, kh, sh, ph, h);
  let cols = span(oj, kw, sw, pw, w);
  let base = plane * h * w;
${body}
}`;
}

/**
 * A gather-style backward kernel: one invocation per input element `e` at row `r`, column `c`,
 * with the `rows` and `cols` of the output windows containing it and the plane's output offset
 * `obase` in scope (with the parameter vectors `p0`…`p3`) before `body`, which writes `out[e]`;
 * `helpers` are extra WGSL functions.
 *
 * @returns WGSL.
 */
export function gatherCode(inputs: number, body: string, helpers = ""): string {
  return `${header(inputs, helpers)}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
${PARAMS}
  let e = index(gid, nwg);
  if (e >= p0.x) { return; }
  let plane = e / (h * w);
  let inPlane = e - plane * h * w;
  let r = inPlane / w;
  let c = inPlane - r * w;
  let rows = covering(r, kh, sh, ph, oh);
  let cols = covering(c, kw, sw, pw, ow);
  let obase = plane * oh * ow;
${body}
}`;
}
