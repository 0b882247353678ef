/**
 * Private helper of the WebGPU activation kernels: flat elementwise passes that split tensors larger
 * than one storage binding into bound ranges (activations of a big batch can exceed the 128 MiB a
 * binding usually allows), following the binding convention of `@cnnlab/backend-webgpu/dispatch`.
 *
 * Design notes: the WGSL of a flat pass gets `i`, the index inside the bound range, and `g`, the
 * index in the whole tensor (`start + i`), so per-channel kernels (PReLU) find their channel from
 * `g` while every range of every split input is read at `i`. Per-channel vectors are bound whole.
 * @module
 */
import type { GpuStorage, WebGpuBackend } from "@cnnlab/backend-webgpu";
import {
  assertBindable,
  bindings,
  grid,
  paramsBuffer,
  PRELUDE,
  record,
} from "@cnnlab/backend-webgpu/dispatch";

/**
 * WGSL of a flat pass over `k` inputs. `body` sees `i` (index in the bound range), `g` (index in the
 * whole tensor) and the parameter words after the first two (`params[2]`, … as passed in `extra`).
 *
 * @param k Number of inputs.
 * @param body WGSL statements that write `out[i]`.
 * @returns The shader code; params are `[count, start, ...extra]`.
 */
export function flatCode(k: number, body: string): string {
  return `${bindings(k)}${PRELUDE}
@compute @workgroup_size(256) fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= params[0]) { return; }
  let g = params[1] + i;
  ${body}
}`;
}

/**
 * Records a flat pass over `n` output elements, split into bound ranges when a tensor exceeds the
 * binding limit.
 *
 * @param backend The backend.
 * @param options `code` from `flatCode`, the input storages, `n`, the extra parameter words, and
 *   `whole`: for each input, whether it is bound entirely (a per-channel vector) instead of by range.
 * @returns The output storage, `n` values.
 * @throws {RangeError} If an input bound whole exceeds the binding limit.
 */
export function flatPasses(
  backend: WebGpuBackend,
  options: {
    readonly op: string;
    readonly code: string;
    readonly inputs: readonly GpuStorage[];
    readonly n: number;
    readonly extra?: readonly number[];
    readonly whole?: readonly boolean[];
  },
): GpuStorage {
  const { op, code, inputs, n, extra = [], whole = [] } = options;
  assertBindable(backend, op, inputs.filter((_, k) => whole[k]).map((s) => s.size));
  const out = backend.acquire(n * 4);
  // Ranges start at multiples of the offset alignment and stay within one binding.
  const chunk = Math.floor(backend.maxBindingBytes / backend.offsetAlignment) * (backend.offsetAlignment / 4);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const range = (buffer: GPUBuffer) => ({ buffer, offset: start * 4, size: Math.ceil(count / 4) * 16 });
    record(backend, code, [
      ...inputs.map((s, k) => (whole[k] ? s.buffer : range(s.buffer))),
      range(out),
      paramsBuffer(backend, [count, start, ...extra]),
    ], grid(count));
  }
  return { buffer: out, size: n };
}
