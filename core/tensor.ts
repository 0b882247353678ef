/**
 * Tensor, Device and the engine that runs ops: kernel dispatch, the gradient tape and
 * `tidy` scopes that free intermediate tensors.
 *
 * Design notes: a Device pairs a backend instance with the registry whose kernel table it
 * dispatches through, so two registries (as in tests) never share state. Tensors are
 * immutable except through `assign`, which optimizers use to swap in new parameter values.
 * @module
 */
import type { Backend } from "./backend.ts";
import type { OpDef } from "./op.ts";
import { assertShape, type Shape, sizeOf } from "./shape.ts";
import type { Registry } from "./registry.ts";

/** A backend instance bound to the registry whose kernels it runs. */
export class Device {
  /** The registry that holds the kernel table. */
  readonly registry: Registry;
  /** The backend that owns storage. */
  readonly backend: Backend;

  /**
   * Binds a backend to a registry; use `registry.device(name)` rather than this.
   *
   * @param registry The registry.
   * @param backend The backend instance.
   */
  constructor(registry: Registry, backend: Backend) {
    this.registry = registry;
    this.backend = backend;
  }

  /** The backend's name. */
  get name(): string {
    return this.backend.name;
  }

  /**
   * Creates a tensor from values.
   *
   * @param values Row-major values; copied.
   * @param shape The shape; its size must equal `values.length`.
   * @returns A new tensor on this device.
   * @throws {TypeError} If the sizes disagree.
   * @example A 2×2 tensor
   * ```ts
   * import { Registry } from "@cnnlab/core";
   * import cpu from "@cnnlab/backend-cpu";
   * import assert from "node:assert/strict";
   * const device = await new Registry().use(cpu).device("cpu");
   * const t = device.tensor([1, 2, 3, 4], [2, 2]);
   * assert.deepEqual([...await t.data()], [1, 2, 3, 4]);
   * ```
   */
  tensor(values: ArrayLike<number>, shape: Shape): Tensor {
    assertShape(shape, "tensor");
    if (values.length !== sizeOf(shape)) {
      throw new TypeError(
        `Cannot create a tensor of shape [${shape}]: ${values.length} values given, ${sizeOf(shape)} needed`,
      );
    }
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return track(new Tensor(this, shape, this.backend.upload(data)));
  }

  /** Creates a zero-filled tensor. */
  zeros(shape: Shape): Tensor {
    assertShape(shape, "tensor");
    return track(new Tensor(this, shape, this.backend.create(sizeOf(shape))));
  }

  /** Creates a tensor filled with `value`. */
  fill(shape: Shape, value: number): Tensor {
    return this.tensor(new Float32Array(sizeOf(shape)).fill(value), shape);
  }

  /** Creates a scalar (shape `[]`). */
  scalar(value: number): Tensor {
    return this.tensor([value], []);
  }
}

/** A tape entry: how a tensor was computed. */
export interface TapeNode {
  readonly op: OpDef<unknown>;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
}

let nextId = 0;
let live = 0;

/**
 * Counts tensors that exist and are not disposed, like `tf.memory().numTensors`; a training step
 * must leave it unchanged.
 *
 * @returns The number of live tensors in this process.
 * @example Creating and disposing a tensor
 * ```ts
 * import { liveTensors, Registry } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * const before = liveTensors();
 * const t = device.zeros([2]);
 * assert.equal(liveTensors(), before + 1);
 * t.dispose();
 * assert.equal(liveTensors(), before);
 * ```
 */
export function liveTensors(): number {
  return live;
}

/** An n-dimensional float32 array held by a backend. */
export class Tensor {
  /** Unique id, for debugging and for keying gradients. */
  readonly id: number = nextId++;
  /** Dimensions, outermost first (NCHW for images). */
  readonly shape: Shape;
  /** Element type; float32 is the only one for now. */
  readonly dtype = "float32" as const;
  /** The device whose backend owns the storage. */
  readonly device: Device;
  /** Whether gradients flow to this tensor (parameters, or results of ops on them). */
  requiresGrad = false;
  /** How this tensor was computed, when recorded on the tape. */
  node: TapeNode | undefined;
  #storage: unknown;
  #disposed = false;

  /**
   * Wraps backend storage; use `device.tensor()` or ops rather than this.
   *
   * @param device The owning device.
   * @param shape The shape.
   * @param storage Backend storage of `sizeOf(shape)` values.
   */
  constructor(device: Device, shape: Shape, storage: unknown) {
    this.device = device;
    this.shape = Object.freeze([...shape]);
    this.#storage = storage;
    live++;
  }

  /** The backend that holds the values. */
  get backend(): Backend {
    return this.device.backend;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** Whether `dispose()` has run. */
  get disposed(): boolean {
    return this.#disposed;
  }

  /** Backend storage, for kernels and backends. */
  get storage(): unknown {
    if (this.#disposed) throw new Error(`Cannot use tensor #${this.id} [${this.shape}]: it was disposed`);
    return this.#storage;
  }

  /** Reads the values to the host. */
  data(): Promise<Float32Array> {
    return this.backend.read(this.storage, this.size);
  }

  /**
   * Reads the values synchronously.
   *
   * @throws {Error} On backends without synchronous reads (use `await t.data()`).
   */
  dataSync(): Float32Array {
    const read = this.backend.readSync;
    if (!read) {
      throw new Error(
        `Cannot read tensor synchronously on backend "${this.backend.name}": use await t.data()`,
      );
    }
    return read.call(this.backend, this.storage, this.size);
  }

  /** Reads a scalar (or the first value). */
  async item(): Promise<number> {
    return (await this.data())[0];
  }

  /**
   * Replaces this tensor's values with `source`'s storage and disposes `source`;
   * the tape entry is cleared. Optimizers use it to update parameters in place.
   *
   * @param source A tensor of the same shape on the same device.
   * @throws {TypeError} If shapes or devices differ.
   */
  assign(source: Tensor): void {
    if (source.device !== this.device || source.size !== this.size) {
      throw new TypeError(
        `Cannot assign tensor [${source.shape}] on "${source.device.name}" to [${this.shape}] on "${this.device.name}"`,
      );
    }
    const old = this.#storage;
    this.#storage = source.#storage;
    if (!source.#disposed) live--;
    source.#disposed = true;
    source.#storage = undefined;
    if (old !== undefined && !this.#disposed) this.backend.free(old);
  }

  /** Frees the storage; idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    live--;
    this.backend.free(this.#storage);
    this.#storage = undefined;
    this.node = undefined;
  }

  /** A short description, e.g. `Tensor[2,3] on cpu`. */
  toString(): string {
    return `Tensor[${this.shape}] on ${this.backend.name}`;
  }
}

// ---- engine state: gradient tape switch and tidy scopes ----

let tapeEnabled = true;
const scopes: Set<Tensor>[] = [];

function track(t: Tensor): Tensor {
  const scope = scopes[scopes.length - 1];
  if (scope) scope.add(t);
  return t;
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (in an array or
 * object of tensors) and those passed to `keep`.
 *
 * @param fn The work; may return a tensor, a list or a record of tensors, or anything else.
 * @returns What `fn` returned.
 * @example Intermediate tensors are freed
 * ```ts
 * import { Registry, ops, tidy } from "@cnnlab/core";
 * import cpu from "@cnnlab/backend-cpu";
 * import assert from "node:assert/strict";
 * const device = await new Registry().use(cpu).device("cpu");
 * let temp;
 * const y = tidy(() => { temp = ops.scale(device.tensor([1, 2], [2]), 2); return ops.add(temp, temp); });
 * assert.ok(temp!.disposed);
 * assert.deepEqual([...y.dataSync()], [4, 8]);
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept);
  for (const t of scope) if (!kept.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) { for (const t of kept) if (scope.has(t)) parent.add(t); }
  return result;
}

function collectTensors(value: unknown, out: Set<Tensor>): void {
  if (value instanceof Tensor) out.add(value);
  else if (Array.isArray(value)) { for (const v of value) collectTensors(v, out); }
  else if (value instanceof Map) { for (const v of value.values()) collectTensors(v, out); }
  else if (value && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out);
  }
}

/**
 * Removes a tensor from the enclosing `tidy` scopes so it outlives them.
 *
 * @param t The tensor to keep.
 * @returns The same tensor.
 */
export function keep(t: Tensor): Tensor {
  for (const scope of scopes) scope.delete(t);
  return t;
}

/**
 * Whether ops are being recorded on the gradient tape now: false inside `noGrad`. A result records
 * only when this holds and one of its inputs requires a gradient.
 *
 * @returns True outside `noGrad`.
 * @example
 * ```ts
 * import { isRecording, noGrad } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * assert.equal(isRecording(), true);
 * assert.equal(noGrad(() => isRecording()), false);
 * ```
 */
export function isRecording(): boolean {
  return tapeEnabled;
}

/**
 * Runs `fn` without recording ops on the gradient tape (inference, optimizer updates).
 *
 * @param fn The work.
 * @returns What `fn` returned.
 */
export function noGrad<T>(fn: () => T): T {
  const before = tapeEnabled;
  tapeEnabled = false;
  try {
    return fn();
  } finally {
    tapeEnabled = before;
  }
}

/**
 * Runs an op: checks its inputs, computes the output shape, dispatches to the kernel
 * registered for (op, backend) and records the op on the tape when gradients may flow.
 *
 * @param op The op contract.
 * @param inputs Input tensors, all on one device.
 * @param attrs The op's attributes.
 * @returns The output tensor.
 * @throws {TypeError} On a wrong input count, mixed devices or a bad shape.
 * @throws {KernelNotFoundError} If no kernel is registered for the op on this backend.
 */
export function runOp<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  if (inputs.length !== op.inputs.length) {
    throw new TypeError(
      `Cannot run op "${op.name}": expected ${op.inputs.length} inputs, got ${inputs.length}`,
    );
  }
  const device = inputs[0].device;
  for (let i = 1; i < inputs.length; i++) {
    if (inputs[i].device !== device) {
      throw new TypeError(
        `Cannot run op "${op.name}" on tensors from different devices ("${device.name}" and "${
          inputs[i].device.name
        }"): move them to one backend first`,
      );
    }
  }
  const shapes = inputs.map((t) => t.shape);
  const outShape = op.outputShape(shapes, attrs);
  const kernel = device.registry.kernel(op.name, device.backend.name);
  const storage = kernel.run(
    inputs.map((t) => ({ storage: t.storage, shape: t.shape })),
    attrs as never,
    outShape,
    device.backend,
  );
  const out = track(new Tensor(device, outShape, storage));
  if (tapeEnabled && op.grads && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op: op as OpDef<unknown>, inputs, attrs };
  }
  return out;
}
