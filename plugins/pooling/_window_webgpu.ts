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
 * Parameter words: `[count, h, w, oh, ow, kh, kw, sh, sw, ph, pw, …op-specific]`, where `count`
 * is the number of invocations (outputs forward, inputs backward).
 * @module
 */
import type { Shape } from "@cnnlab/core";
import { bindings, PRELUDE } from "@cnnlab/backend-webgpu/dispatch";
import type { Pool2dAttrs } from "./pool_options.ts";

/** Number of parameter words `windowParams` writes; op-specific words follow at this index. */
export const WINDOW_WORDS = 11;

/**
 * The leading parameter words of a pooling kernel.
 *
 * @returns `[count, h, w, oh, ow, kh, kw, sh, sw, ph, pw]`.
 */
export function windowParams(count: number, inShape: Shape, outShape: Shape, attrs: Pool2dAttrs): number[] {
  const [, , h, w] = inShape;
  const [, , oh, ow] = outShape;
  return [count, h, w, oh, ow, ...attrs.poolSize, ...attrs.stride, ...attrs.padding];
}

/** WGSL shared by every pooling kernel: the bindings, `index`, `span`, `covering` and `helpers`. */
function header(inputs: number, helpers: string): string {
  return `${bindings(inputs)}${PRELUDE}${helpers}
// Clipped [start, end) of the input positions of window o along one axis.
fn span(o: u32, k: u32, s: u32, p: u32, size: u32) -> vec2u {
  let a = i32(o * s) - i32(p);
  return vec2u(u32(max(a, 0)), u32(min(a + i32(k), i32(size))));
}
// [first, end) of the windows along one axis that contain input position x (empty when first >= end).
fn covering(x: u32, k: u32, s: u32, p: u32, outSize: u32) -> vec2u {
  let t = x + p;
  return vec2u(select(0u, (t - k) / s, t >= k), min(t / s + 1u, outSize));
}
`;
}

/**
 * A forward kernel: one invocation per output `o`, with `plane`, the output row `oi` and column
 * `oj`, the clipped input `rows` and `cols` of its window and the plane's input offset `base` in
 * scope before `body`, which writes `out[o]`; `helpers` are extra WGSL functions.
 *
 * @returns WGSL.
 */
export function forwardCode(inputs: number, body: string, helpers = ""): string {
  return `${header(inputs, helpers)}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = index(gid, nwg);
  if (o >= params[0]) { return; }
  let h = params[1]; let w = params[2]; let oh = params[3]; let ow = params[4];
  let kh = params[5]; let kw = params[6]; let sh = params[7]; let sw = params[8];
  let ph = params[9]; let pw = params[10];
  let plane = o / (oh * ow);
  let oi = (o % (oh * ow)) / ow;
  let oj = o % ow;
  let rows = span(oi, kh, sh, ph, h);
  let cols = span(oj, kw, sw, pw, w);
  let base = plane * h * w;
${body}
}`;
}

/**
 * A gather-style backward kernel: one invocation per input element `e` at row `r`, column `c`,
 * with the `rows` and `cols` of the output windows containing it and the plane's output offset
 * `obase` in scope before `body`, which writes `out[e]`; `helpers` are extra WGSL functions.
 *
 * @returns WGSL.
 */
export function gatherCode(inputs: number, body: string, helpers = ""): string {
  return `${header(inputs, helpers)}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = index(gid, nwg);
  if (e >= params[0]) { return; }
  let h = params[1]; let w = params[2]; let oh = params[3]; let ow = params[4];
  let kh = params[5]; let kw = params[6]; let sh = params[7]; let sw = params[8];
  let ph = params[9]; let pw = params[10];
  let plane = e / (h * w);
  let r = (e % (h * w)) / w;
  let c = e % w;
  let rows = covering(r, kh, sh, ph, oh);
  let cols = covering(c, kw, sw, pw, ow);
  let obase = plane * oh * ow;
${body}
}`;
}
