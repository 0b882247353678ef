/**
 * Running WGSL kernels: the binding convention every WebGPU kernel (here and in other plugins) uses,
 * and the helpers that size the grid, pack parameters and split oversized tensors.
 *
 * Convention: inputs bind at 0…k−1 (`var<storage, read> inN: array<f32>`), the output at k
 * (`var<storage, read_write> out: array<f32>`), and the parameter words at k+1
 * (`var<storage, read> params: array<u32>`; floats travel as their bits: `bitcast<f32>(params[i])`).
 * `PRELUDE` gives `index(gid, nwg)`, the flat invocation index of a 2-D grid of 256-wide workgroups.
 * @module
 */
import type { KernelInput, Shape } from "@cnnlab/core";
import type { GpuStorage, WebGpuBackend } from "./backend.ts";

/** Workgroup width used by `dispatchThreads` grids. */
export const WORKGROUP = 256;

/** WGSL helper: the flat invocation index of a `dispatchThreads` grid. */
export const PRELUDE = `
fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WORKGROUP}u; }
`;

/**
 * WGSL helper `relu(v)`: `max(v, 0)` as JavaScript's `Math.max` and the CPU kernels give it (NaN stays
 * NaN, −0 gives +0). It tests the bits (−0, negative or −∞ become +0), since WGSL lets an implementation
 * assume that no float is NaN, so that a comparison could not be trusted to keep one.
 */
export const RELU = `
fn relu(v: f32) -> f32 { return select(v, 0.0, bitcast<u32>(v) - 0x80000000u <= 0x7f800000u); }
`;

/** WGSL declarations of `k` inputs, the output and the parameter words, per the convention. */
export function bindings(k: number, withParams = true): string {
  let s = "";
  for (let i = 0; i < k; i++) s += `@group(0) @binding(${i}) var<storage, read> in${i}: array<f32>;\n`;
  s += `@group(0) @binding(${k}) var<storage, read_write> out: array<f32>;\n`;
  if (withParams) s += `@group(0) @binding(${k + 1}) var<storage, read> params: array<u32>;\n`;
  return s;
}

/** Grid of 256-wide workgroups covering `threads` invocations (2-D past 65,535 workgroups). */
export function grid(threads: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / WORKGROUP));
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
}

/** The bits of a float32, for a parameter word. */
export function f32bits(x: number): number {
  return new Uint32Array(new Float32Array([x]).buffer)[0];
}

/** One bound buffer range. */
export interface BoundRange {
  readonly buffer: GPUBuffer;
  readonly offset?: number;
  readonly size?: number;
}

/**
 * Records one compute pass.
 *
 * @param backend The backend.
 * @param code WGSL with entry point `main`.
 * @param ranges Buffers (or ranges) in binding order.
 * @param workgroups Grid size.
 */
export function record(
  backend: WebGpuBackend,
  code: string,
  ranges: readonly (GPUBuffer | BoundRange)[],
  workgroups: readonly [number, number, number],
): void {
  const pipeline = backend.pipeline(code);
  const entries = ranges.map((r, binding): GPUBindGroupEntry => {
    const range = "buffer" in r ? r : { buffer: r as GPUBuffer };
    return { binding, resource: { buffer: range.buffer, offset: range.offset ?? 0, size: range.size } };
  });
  const bindGroup = backend.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const pass = backend.encoder().beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
  pass.end();
  backend.passRecorded();
}

/** A GPU buffer holding parameter words, released with the next flush. */
export function paramsBuffer(backend: WebGpuBackend, words: ArrayLike<number>): GPUBuffer {
  const data = Uint32Array.from(words.length ? words : [0]);
  const buffer = backend.acquire(data.byteLength);
  backend.device.queue.writeBuffer(buffer, 0, data);
  backend.encoder(); // with an encoder open, the release waits for the flush that runs this pass
  backend.release(buffer);
  return buffer;
}

/**
 * Checks that every tensor of an op that cannot be split fits one binding.
 *
 * @param backend The backend.
 * @param op Op name, for the message.
 * @param sizes Float counts of the inputs and the output.
 * @throws {RangeError} Naming the op, the size and the limit, suggesting `--backend cpu`.
 */
export function assertBindable(backend: WebGpuBackend, op: string, sizes: readonly number[]): void {
  for (const n of sizes) {
    if (n * 4 > backend.maxBindingBytes) {
      throw new RangeError(
        `Cannot run op "${op}" on backend "webgpu": a tensor of ${
          (n * 4 / 2 ** 20).toFixed(1)
        } MiB exceeds this adapter's ${
          (backend.maxBindingBytes / 2 ** 20).toFixed(1)
        } MiB storage-binding limit and this op cannot be split; use --backend cpu or a smaller batch`,
      );
    }
  }
}

/** Options of `runKernel`. */
export interface RunKernelOptions {
  /** WGSL per the binding convention. */
  readonly code: string;
  /** The op's inputs. */
  readonly inputs: readonly KernelInput<GpuStorage>[];
  /** Output float count. */
  readonly outputSize: number;
  /** Parameter words (omit when the code declares no `params`). */
  readonly params?: ArrayLike<number>;
  /** Invocations to launch (one per output element by default). */
  readonly threads?: number;
  /** Explicit grid, instead of `threads`. */
  readonly workgroups?: readonly [number, number, number];
  /** Op name, for the binding-limit message. */
  readonly op: string;
}

/**
 * Runs a kernel whose tensors all fit one binding: allocates the output, records the pass.
 *
 * @param backend The backend.
 * @param options Code, inputs, output size, parameters and grid.
 * @returns The output storage.
 * @throws {RangeError} If a tensor exceeds the binding limit.
 */
export function runKernel(backend: WebGpuBackend, options: RunKernelOptions): GpuStorage {
  assertBindable(backend, options.op, [...options.inputs.map((i) => i.storage.size), options.outputSize]);
  const out = backend.acquire(options.outputSize * 4);
  const ranges: GPUBuffer[] = [...options.inputs.map((i) => i.storage.buffer), out];
  if (options.params) ranges.push(paramsBuffer(backend, options.params));
  record(backend, options.code, ranges, options.workgroups ?? grid(options.threads ?? options.outputSize));
  return { buffer: out, size: options.outputSize };
}

/** Row-major strides. */
export function strides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}
