/**
 * The WebGPU backend: tensors live in GPU storage buffers between ops; values come back only when
 * read. Buffers are pooled by size and reused, so a training step allocates nothing after warm-up.
 *
 * Design notes: every kernel call records one compute pass into a shared command encoder, which is
 * submitted when values are read, when the pool must hand back a buffer, or every `BATCH` passes —
 * queue order then keeps every read after the writes it depends on. A tensor larger than the
 * adapter's `maxStorageBufferBindingSize` is split into bound ranges by kernels that can (elementwise),
 * and refused with a clear error by those that cannot.
 * @module
 */
import type { Backend } from "@cnnlab/core";

/** A tensor's storage on the GPU. */
export interface GpuStorage {
  readonly buffer: GPUBuffer;
  /** Number of float32 values held. */
  readonly size: number;
}

/** Options of `WebGpuBackend.create`. */
export interface WebGpuOptions {
  /**
   * Largest storage-buffer binding in bytes; defaults to the adapter's limit. Tests lower it to
   * exercise the split path.
   */
  readonly maxBindingBytes?: number;
  /** The GPU to use; by default `navigator.gpu` is asked for one. */
  readonly gpu?: GPU;
}

/** Bytes of pooled buffers kept for reuse before extra ones are destroyed. */
const POOL_BYTES = 512 * 1024 * 1024;
/** Passes recorded before the encoder is submitted. */
const BATCH = 64;

/** A WebGPU device with a buffer pool, a pipeline cache and a batched command encoder. */
export class WebGpuBackend implements Backend<GpuStorage> {
  /** Registry key. */
  readonly name: string = "webgpu";
  /** The GPU device. */
  readonly device: GPUDevice;
  /** Largest buffer range one binding may cover, in bytes. */
  readonly maxBindingBytes: number;
  /** Alignment of binding offsets, in bytes. */
  readonly offsetAlignment: number;
  /** Description of the adapter, for reports. */
  readonly adapterInfo: Record<string, unknown>;
  /** Set when the device is lost; every later call throws it. */
  lost: string | undefined;
  readonly #pool = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  #encoder: GPUCommandEncoder | undefined;
  #passes = 0;
  #pendingFree: GPUBuffer[] = [];
  #shaderError: string | undefined;

  private constructor(device: GPUDevice, info: Record<string, unknown>, options: WebGpuOptions) {
    this.device = device;
    this.adapterInfo = info;
    this.maxBindingBytes = Math.min(
      options.maxBindingBytes ?? Infinity,
      device.limits.maxStorageBufferBindingSize,
    );
    this.offsetAlignment = device.limits.minStorageBufferOffsetAlignment;
    device.lost.then((l) => {
      this.lost = `the GPU device was lost (${l.reason}: ${l.message})`;
    });
  }

  /**
   * Requests an adapter and a device.
   *
   * @param options Test limits or a specific GPU.
   * @returns The backend.
   * @throws {Error} In one line, suggesting `--backend cpu`, when there is no WebGPU adapter.
   */
  static async create(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
    const gpu = options.gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
    const adapter = await gpu?.requestAdapter();
    if (!adapter) {
      throw new Error(
        `Cannot start the webgpu backend: ${
          gpu ? "no WebGPU adapter was found" : "this runtime has no navigator.gpu"
        }; use --backend cpu`,
      );
    }
    const limits = adapter.limits;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxStorageBuffersPerShaderStage: Math.min(8, limits.maxStorageBuffersPerShaderStage),
        maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: Math.min(256, limits.maxComputeInvocationsPerWorkgroup),
      },
    });
    const info = adapter.info ?? {};
    const described: Record<string, unknown> = {};
    for (const k of ["vendor", "architecture", "device", "description"] as const) {
      if ((info as GPUAdapterInfo)[k]) described[k] = (info as GPUAdapterInfo)[k];
    }
    return new WebGpuBackend(device, described, options);
  }

  #check(): void {
    if (this.lost) {
      throw new Error(`Cannot use the webgpu backend: ${this.lost}; the last checkpoint is intact`);
    }
    if (this.#shaderError) throw new Error(`Cannot use the webgpu backend: ${this.#shaderError}`);
  }

  /** Takes a buffer of exactly `bytes` from the pool, or creates one. */
  acquire(bytes: number): GPUBuffer {
    this.#check();
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const list = this.#pool.get(size);
    const reused = list?.pop();
    if (reused) {
      this.#pooledBytes -= size;
      return reused;
    }
    return this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /** Returns a buffer to the pool once the work queued so far has been submitted. */
  release(buffer: GPUBuffer): void {
    this.#pendingFree.push(buffer);
    if (!this.#encoder) this.#recycle();
  }

  #recycle(): void {
    for (const b of this.#pendingFree) {
      if (this.#pooledBytes + b.size > POOL_BYTES) {
        b.destroy();
        continue;
      }
      const list = this.#pool.get(b.size) ?? [];
      list.push(b);
      this.#pool.set(b.size, list);
      this.#pooledBytes += b.size;
    }
    this.#pendingFree = [];
  }

  /** The shared command encoder (created on demand). */
  encoder(): GPUCommandEncoder {
    this.#check();
    this.#encoder ??= this.device.createCommandEncoder();
    return this.#encoder;
  }

  /** Submits recorded work, then recycles buffers freed meanwhile. */
  flush(): void {
    if (this.#encoder) {
      this.device.queue.submit([this.#encoder.finish()]);
      this.#encoder = undefined;
      this.#passes = 0;
    }
    this.#recycle();
  }

  /** Counts a recorded pass and submits every `BATCH` passes. */
  passRecorded(): void {
    if (++this.#passes >= BATCH) this.flush();
  }

  /**
   * A compute pipeline for WGSL code (entry point `main`), compiled once per code string. WebGPU reports
   * compilation errors asynchronously: the first one is kept and every later call throws it, so a bad
   * kernel fails loudly instead of yielding zeros.
   */
  pipeline(code: string): GPUComputePipeline {
    let p = this.#pipelines.get(code);
    if (!p) {
      this.device.pushErrorScope("validation");
      const module = this.device.createShaderModule({ code });
      p = this.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
      this.device.popErrorScope().then((error) => {
        if (error && !this.#shaderError) {
          const first = code.split("\n").find((l) => l.includes("fn main")) ?? "";
          this.#shaderError = `a WGSL kernel failed to compile (${
            error.message.split("\n")[0]
          }; kernel ${first.trim()})`;
        }
      });
      this.#pipelines.set(code, p);
    }
    return p;
  }

  /** Allocates zeros. */
  create(size: number): GpuStorage {
    const buffer = this.acquire(size * 4);
    this.encoder().clearBuffer(buffer);
    this.passRecorded();
    return { buffer, size };
  }

  /** Copies host values in. */
  upload(values: Float32Array): GpuStorage {
    // A pooled buffer is never used by unsubmitted passes (release waits for the flush), so the write
    // may go straight to the queue.
    const buffer = this.acquire(values.byteLength);
    this.device.queue.writeBuffer(buffer, 0, values as Float32Array<ArrayBuffer>);
    return { buffer, size: values.length };
  }

  /** Reads values back (waits for the GPU). */
  async read(storage: GpuStorage, size: number): Promise<Float32Array> {
    this.#check();
    const bytes = Math.max(16, Math.ceil((size * 4) / 16) * 16);
    const staging = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.encoder().copyBufferToBuffer(storage.buffer, 0, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      staging.destroy();
      this.#check();
      throw e;
    }
    const out = new Float32Array(staging.getMappedRange().slice(0, size * 4));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Returns the buffer to the pool. */
  free(storage: GpuStorage): void {
    this.release(storage.buffer);
  }

  /** Describes the adapter. */
  describe(): Record<string, unknown> {
    return {
      backend: "webgpu",
      adapter: this.adapterInfo,
      maxStorageBufferBindingSize: this.device.limits.maxStorageBufferBindingSize,
    };
  }

  /** Destroys pooled buffers and the device. */
  destroy(): void {
    this.flush();
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    this.#pool.clear();
    this.#pooledBytes = 0;
    this.device.destroy();
  }
}
