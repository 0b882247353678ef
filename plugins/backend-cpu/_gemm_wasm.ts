/**
 * The WebAssembly GEMM: packs op(A) and op(B) into one memory shared with worker threads, cuts C
 * into tasks that the calling thread and the workers claim (see `_gemm_tasks.ts`), waits for them
 * with `Atomics` (so `gemm` stays synchronous) and copies C out. Private.
 *
 * Memory: one `WebAssembly.Memory` per kernel flavour, grown to the largest request and reused;
 * a call allocates nothing else but a few array views. Workers start lazily, on the first call
 * that wants them, and a call never waits for a worker that has not accepted its post (it runs the tasks itself), so the
 * first threaded calls simply run on fewer threads. Workers are `node:worker_threads` workers where
 * that module exists, unref'd so that they never keep a finished process alive; elsewhere web
 * workers. Both start from the module file `gemm_worker.ts`.
 *
 * The same machinery runs the convolution helpers of `im2col.ts`: im2col / col2im (`unfoldWasm`,
 * `foldWasm`), the implicit-GEMM convolution (`convWasm`) and its filter gradient (`convGradWasm`).
 * Memory layout: the control block, then the caller's workspace (`workspaceWasm`: views that
 * `gemmWasm` reads and writes in place), then each call's own data.
 *
 * A that many calls share (Winograd's transformed filters) can be packed once into a block of the
 * memory (`packAWasm`) and read in place by later jobs (`gemmPackedWasm`), which then pack only B.
 * @module
 */
import { gemmKernelBytes, KERNEL_SHAPES, MAX_PAGES } from "./_gemm_kernel.ts";
import { Arena, type ArenaStats } from "./_arena.ts";
import { GEMV_MAX_ROWS } from "./_gemv_kernel.ts";
import { convRowsWeightsLength, packConvRowsWeights } from "./_conv_rows_kernel.ts";
import {
  A_BASE,
  A_STEP,
  A_STRIDE_P,
  A_STRIDE_W,
  ACCUMULATE,
  B_BASE,
  B_STEP,
  B_STRIDE_P,
  B_STRIDE_W,
  BATCH,
  BP_STRIDE,
  C_BASE,
  C_STEP,
  CHANNELS,
  CHUNKS_PER_IMAGE,
  COL_STEP,
  COLS_BASE,
  COMPUTED_SLOTS,
  CONTROL_BYTES,
  CONV,
  CONV_GRAD,
  CONV_PANELS,
  CONV_ROWS,
  DEFAULT_SPIN_READS,
  DONE,
  DOT,
  FAILED,
  FOLD,
  HEIGHT,
  IDLE,
  IMG_BASE,
  IMG_PLANE,
  INTERIOR,
  K,
  KC,
  type KernelExports,
  KH,
  KW,
  LAST_ROWS,
  LD_COLS,
  LD_PADDED,
  LDB,
  LDC,
  LEFT,
  M,
  M_PANELS,
  MAILBOX,
  MAX_SLOTS,
  MAX_WORKERS,
  MODE,
  MR,
  N,
  N_PANELS,
  NEXT,
  NR,
  OFFS,
  OG,
  OH,
  OW,
  PACK_A_TASKS,
  PACK_CHUNK_A,
  PACK_CHUNK_B,
  PACK_TASKS,
  PACK_TASKS_EACH,
  PACKED,
  PACKED_SLOTS,
  PANELS,
  PARTIAL_STRIDE,
  PLANE_CHUNK,
  PLANE_OUT,
  PLANES,
  POOL,
  POS_CHUNK,
  POSTED,
  PREPACKED_A_STEP,
  QUIT,
  RAW_A,
  RAW_A_STEP,
  RAW_B,
  RAW_B_STEP,
  RAW_BASE,
  READY,
  ROW_STEP,
  ROWS,
  runTasks,
  SERVING,
  SLOTS,
  SPIN_READS,
  STAGE,
  TAP_X,
  TAP_Y,
  TASK_M,
  TASK_N,
  TASKS,
  TASKS_EACH,
  TASKS_N,
  UNFOLD,
  WIDTH,
  WPACK,
  Y_BASE,
} from "./_gemm_tasks.ts";

/**
 * Deepest depth block of a `PANELS` job (a deeper product is cut into equal blocks). A tile streams
 * its 6 × kc A sliver from L2 whatever kc is, since a task's A block does not fit L1. On 1024³,
 * blocks of 1024 (slivers of 24 KiB, B panels of 32 KiB: one block, no C to add back) beat blocks of
 * 256 (6 and 8 KiB, which fit L1 together): medians of 16 interleaved calls in each of 10 processes
 * 0–9% faster on two threads and −3 to +17% on one, ahead in 123 and 110 of the 160 pairs (two
 * identical settings compared alike: 26 and 25 of 48). Deeper products (k = 2048, 2400, 3456) and
 * LeNet-5's and Winograd's shapes ran the same either way.
 */
export const KC_MAX = 1024;
/**
 * Bytes of packed panels that a batched `PANELS` job keeps in its ring of slots (at least
 * `MIN_SLOTS` slots): 16 products [384, 384]·[384, 49] on one thread, each in its own slot (10 MiB),
 * ran 12% slower than as 16 calls that reuse one buffer.
 */
const PACK_RING_BYTES = 2 << 20, MIN_SLOTS = 3;
/** For tests: the slots of every batched job instead (≥ 2: products pack one ahead). */
let packSlots: number | undefined;
/** Rows and columns of C per task, before shrinking to give every thread several tasks. */
const TASK_ROWS = 96, TASK_COLUMNS = 256;
/** Floats per pack task. */
const PACK_FLOATS = 1 << 15;
/** B is read in place when A has at most this many panels, or the depth is at most this. */
const DIRECT_B_MAX_A_PANELS = 8, DIRECT_B_MAX_DEPTH = 64;
/** A·Bᵀ runs `dot` when k ≥ this × (m + n): C is small next to the operands, packing would dominate. */
const DOT_MIN_DEPTH_RATIO = 2;
/** Fewest depth steps of a `ROWS` task. */
const ROWS_MIN_CHUNK = 64;
/** Depth chunk of a `dot` task: A and B rows of about this many floats (256 KiB), ≥ 256 steps. */
const DOT_CHUNK_FLOATS = 1 << 16, DOT_MIN_CHUNK = 256, DOT_MAX_CHUNKS = 64;

interface WorkerHandle {
  alive: boolean;
}

interface Engine {
  readonly mr: number;
  readonly nr: number;
  readonly dr: number;
  readonly dc: number;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly shared: boolean;
  readonly kernel: KernelExports;
  readonly ctrl: Int32Array;
  f32: Float32Array;
  readonly workers: WorkerHandle[];
  /** Every buffer `memory.buffer` has been (shared memory: all views of one memory). */
  readonly buffers: Set<ArrayBufferLike>;
  /** Tensor storage and the caller's workspace; a call's own data starts past its top. */
  arena: Arena;
  /** The workspace block (`workspaceWasm`): byte offset and size, or size 0 for none yet. */
  workspace: { offset: number; bytes: number };
}

/**
 * Bytes the arena's top may reach: 3 GiB, leaving at least 1 GiB of the 4 GiB address space for
 * each call's own data.
 */
const ARENA_LIMIT = 3 * 2 ** 30;

const engines = new Map<boolean, Engine>();

function createEngine(relaxed: boolean): Engine {
  const shape = { ...KERNEL_SHAPES[relaxed ? "relaxed" : "plain"], relaxed };
  let memory: WebAssembly.Memory, shared = true;
  try {
    memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  } catch {
    // No SharedArrayBuffer (a page without cross-origin isolation): one thread.
    memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
    shared = false;
  }
  const module = new WebAssembly.Module(gemmKernelBytes(shape, { shared }) as BufferSource);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const engine: Engine = {
    mr: shape.mr,
    nr: shape.nr,
    dr: shape.dr,
    dc: shape.dc,
    memory,
    module,
    shared,
    kernel: instance.exports as unknown as KernelExports,
    ctrl: new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4),
    f32: new Float32Array(memory.buffer),
    workers: [],
    buffers: new Set([memory.buffer]),
    arena: undefined as unknown as Arena,
    workspace: { offset: 0, bytes: 0 },
  };
  engine.arena = new Arena(CONTROL_BYTES, ARENA_LIMIT, (bytes) => reserve(engine, bytes));
  engine.ctrl[SPIN_READS] = spinReads;
  return engine;
}

/** What `SPIN_READS` of every engine holds. */
let spinReads = DEFAULT_SPIN_READS;

/**
 * For tests and measurements: the reads of its mailbox each worker spins through before it sleeps
 * (0: it sleeps at once), in every engine from now on; returns the previous value.
 */
export function setWorkerSpin(reads: number): number {
  const before = spinReads;
  spinReads = reads;
  for (const engine of engines.values()) Atomics.store(engine.ctrl, SPIN_READS, reads);
  return before;
}

/** The engine of a kernel flavour, created on first use. */
function engineFor(relaxed: boolean): Engine {
  let engine = engines.get(relaxed);
  if (!engine) engines.set(relaxed, engine = createEngine(relaxed));
  return engine;
}

/** First byte a call may use for its own data: past every block of the arena. */
function scratchBase(engine: Engine): number {
  return align(engine.arena.top);
}

/**
 * The byte address in the kernel's memory of `array[offset]` when `array` is a view of that
 * memory (a workspace view), else -1.
 */
function addressOf(engine: Engine, array: Float32Array, offset: number): number {
  return engine.shared && engine.buffers.has(array.buffer) ? array.byteOffset + offset * 4 : -1;
}

// deno-lint-ignore no-explicit-any
const nodeProcess = (globalThis as any).process;

/** Whether `stopWorkers` is registered to run on `unload`. */
let stopsOnUnload = false;

function spawnWorker(engine: Engine, index: number): WorkerHandle {
  if (!stopsOnUnload) {
    stopsOnUnload = true;
    globalThis.addEventListener?.("unload", () => stopWorkers());
  }
  const handle: WorkerHandle = { alive: true };
  const url = new URL("./gemm_worker.ts", import.meta.url);
  const init = { module: engine.module, memory: engine.memory, index };
  try {
    const threads = nodeProcess?.getBuiltinModule?.("node:worker_threads");
    if (threads) {
      const worker = new threads.Worker(url, { workerData: init });
      worker.on("error", () => handle.alive = false);
      worker.unref();
    } else {
      const worker = new Worker(url.href, { type: "module" });
      worker.onerror = () => handle.alive = false;
      worker.postMessage(init);
    }
  } catch {
    handle.alive = false;
  }
  return handle;
}

/**
 * Ends every worker thread started so far: posts `QUIT` to each, then waits up to `timeoutMs` until
 * each has left its loop (its thread then ends with its script). Runs on `unload`, so that no worker
 * outlives the program, or the test module, that started it: Deno's `terminate()` does not end a
 * worker parked in `Atomics.wait`, and a worker still parked when the process exits is torn down
 * under its feet. A later call starts new workers.
 *
 * @returns Workers that had not left in time (one still loading its module leaves as soon as it
 * starts, but its mailbox is then retired: later calls run without it).
 */
export function stopWorkers(timeoutMs = 2000): number {
  let late = 0;
  for (const engine of engines.values()) {
    const { ctrl, workers } = engine;
    for (let i = 0; i < workers.length; i++) {
      Atomics.store(ctrl, MAILBOX + i, QUIT);
      Atomics.notify(ctrl, MAILBOX + i);
    }
    const deadline = performance.now() + timeoutMs;
    let engineLate = 0;
    for (let i = 0; i < workers.length; i++) {
      for (let state = Atomics.load(ctrl, READY + i); workers[i].alive && state !== LEFT;) {
        const remaining = deadline - performance.now();
        if (remaining <= 0 || !canBlock) {
          engineLate++;
          break;
        }
        try {
          Atomics.wait(ctrl, READY + i, state, Math.min(remaining, 50));
        } catch {
          canBlock = false;
        }
        state = Atomics.load(ctrl, READY + i);
      }
    }
    if (engineLate === 0) {
      for (let i = 0; i < workers.length; i++) {
        Atomics.store(ctrl, MAILBOX + i, IDLE);
        Atomics.store(ctrl, READY + i, 0);
      }
      workers.length = 0;
    } else {
      for (const worker of workers) worker.alive = false;
    }
    late += engineLate;
  }
  return late;
}

/** Whether `Atomics.wait` may block this thread (not on a browser's main thread). */
let canBlock = true;

/** Whether the calling thread claims tasks too (tests turn it off to make workers do all). */
let callerRunsTasks = true;

/** Takes back the post to worker `index` (unless `wait`) or waits until it has run out of tasks. */
function collect(ctrl: Int32Array, index: number, wait: boolean): void {
  const mail = MAILBOX + index;
  if (!wait && Atomics.compareExchange(ctrl, mail, POSTED, IDLE) === POSTED) return;
  for (let spin = 0;; spin++) {
    const state = Atomics.load(ctrl, mail);
    if (state === IDLE) return;
    if (spin < 2000 || !canBlock) continue;
    try {
      Atomics.wait(ctrl, mail, state, 1);
    } catch {
      canBlock = false;
    }
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/**
 * Where an operand lies for a job: at `inPlace` when it is a view of the memory (≥ 0), else at
 * `layout.next`, which then moves past its `bytes`.
 */
function place(layout: { next: number }, inPlace: number, bytes: number): number {
  if (inPlace >= 0) return inPlace;
  const at = layout.next;
  layout.next = align(at + bytes);
  return at;
}

/** Makes the memory at least `bytes` long; false if it cannot grow that far. */
function reserve(engine: Engine, bytes: number): boolean {
  const have = engine.memory.buffer.byteLength;
  if (bytes > have) {
    if (bytes > MAX_PAGES * 65536) return false;
    try {
      engine.memory.grow(Math.ceil((bytes - have) / 65536));
    } catch {
      return false;
    }
  }
  if (engine.f32.length * 4 !== engine.memory.buffer.byteLength) {
    engine.f32 = new Float32Array(engine.memory.buffer);
    engine.buffers.add(engine.memory.buffer);
  }
  return true;
}

/**
 * Copies each product's C `[m, n]` into (`toKernel`) or out of the kernel's padded C (row stride
 * `ldc`, products `C_STEP` bytes apart) unless C is written in place: one memory copy per product
 * when the strides agree; else the kernel's `copy`, straight to or from C when C is a view of the
 * memory, through the staging area otherwise (much faster than a JavaScript loop between a shared
 * and an unshared array).
 */
function transferC(
  engine: Engine,
  c: Float32Array,
  m: number,
  n: number,
  s: WasmGemmSettings,
  toKernel: boolean,
): void {
  const { ctrl, f32, kernel } = engine;
  // Addresses past 2 GiB read back negative from the Int32Array: `>>> 0` makes them unsigned.
  const cBase = ctrl[C_BASE] >>> 0, step = ctrl[C_STEP] >>> 0, ldc = ctrl[LDC] / 4, stage = ctrl[STAGE] >>> 0;
  const inC = addressOf(engine, c, s.offsetC);
  if (cBase === inC) return; // C is a view of the memory, written in place
  for (let i = 0; i < s.batch; i++) {
    const at = cBase + i * step, offC = s.offsetC + i * s.strideC;
    if (inC >= 0) {
      const view = inC + i * s.strideC * 4;
      if (toKernel) kernel.copy(at, view, m, n, ldc * 4, n * 4);
      else kernel.copy(view, at, m, n, n * 4, ldc * 4);
      continue;
    }
    const via = ldc === n ? at : stage;
    if (toKernel) {
      f32.set(c.subarray(offC, offC + m * n), via / 4);
      if (via === stage) kernel.copy(at, stage, m, n, ldc * 4, n * 4);
    } else {
      if (via === stage) kernel.copy(stage, at, m, n, n * 4, ldc * 4);
      c.set(f32.subarray(via / 4, via / 4 + m * n), offC);
    }
  }
}

/** Settings of one WebAssembly GEMM call; `gemm` resolves the defaults of `GemmOptions`. */
export interface WasmGemmSettings {
  readonly relaxed: boolean;
  readonly threads: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly accumulate: boolean;
  readonly offsetA: number;
  readonly offsetB: number;
  readonly offsetC: number;
  /** Products, ≥ 1, and the floats between consecutive products' A, B and C. */
  readonly batch: number;
  readonly strideA: number;
  readonly strideB: number;
  readonly strideC: number;
}

/**
 * `C_i = op(A_i)·op(B_i)` (or `+=`) for each product i of the batch with the WebAssembly kernels;
 * `m`, `n`, `k` ≥ 1. A single product may run as a `ROWS` or `DOT` job, a batch always runs as one
 * `PANELS` job. Returns false, doing nothing, when the operands do not fit in 4 GiB of kernel
 * memory.
 */
export function gemmWasm(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  s: WasmGemmSettings,
): boolean {
  const engine = engineFor(s.relaxed);
  const ctrl = engine.ctrl;
  const single = s.batch === 1;
  if (single && m <= GEMV_MAX_ROWS && !s.transposeA && !s.transposeB) {
    if (!setUpRows(engine, m, n, k, a, b, s)) return false;
    runJob(engine, s.threads, ctrl[TASKS]);
    sumPartials(engine, m, n, c, s);
    return true;
  }
  const dot = single && s.transposeB && !s.transposeA && k >= DOT_MIN_DEPTH_RATIO * (m + n);
  const ready = dot ? setUpDot(engine, m, n, k, a, b, s) : setUpPanels(engine, m, n, k, a, b, c, s);
  if (!ready) return false;
  runJob(engine, s.threads, ctrl[TASKS] + (dot ? 0 : ctrl[PACK_TASKS]));
  if (dot) sumPartials(engine, m, n, c, s);
  else transferC(engine, c, m, n, s, false);
  return true;
}

/** What `packAWasm` packs: op(A) of each product of a batch, as in `WasmGemmSettings`. */
export interface WasmPackASettings {
  readonly relaxed: boolean;
  readonly transposeA: boolean;
  readonly offsetA: number;
  readonly batch: number;
  readonly strideA: number;
}

/**
 * Bytes of one product's packed A for the flavour: `⌈m / mr⌉` panels of `[k, mr]` floats (see
 * `_gemm_kernel.ts`), the last one zero past row m.
 */
export function packedABytes(relaxed: boolean, m: number, k: number): number {
  const mr = engineFor(relaxed).mr;
  return Math.ceil(m / mr) * mr * k * 4;
}

/**
 * Packs op(A) of every product of the batch into `into`, a block of the flavour's memory (from
 * `allocateWasm`), product i at `i · packedABytes(…)` bytes, with the kernel's `packA` on the
 * calling thread; an A that is not a view of the memory is copied in first, one product at a time.
 * Returns false, doing nothing, when `into` is not such a block or too short, or the memory cannot
 * grow to stage A.
 */
export function packAWasm(
  m: number,
  k: number,
  a: Float32Array,
  into: Float32Array,
  s: WasmPackASettings,
): boolean {
  const engine = engineFor(s.relaxed);
  const at = addressOf(engine, into, 0), step = packedABytes(s.relaxed, m, k);
  if (at < 0 || into.length * 4 < s.batch * step) return false;
  const inA = addressOf(engine, a, s.offsetA), stage = scratchBase(engine);
  if (inA < 0 && !reserve(engine, stage + m * k * 4 + 64)) return false;
  const strideW = s.transposeA ? 4 : k * 4, strideP = s.transposeA ? m * 4 : 4;
  for (let i = 0; i < s.batch; i++) {
    let src = inA + i * s.strideA * 4;
    if (inA < 0) {
      const from = s.offsetA + i * s.strideA;
      engine.f32.set(a.subarray(from, from + m * k), stage / 4);
      src = stage;
    }
    engine.kernel.packA(at + i * step, src, 0, Math.ceil(m / engine.mr), m, k, strideW, strideP);
  }
  return true;
}

/**
 * `C_i = op(A_i)·op(B_i)` (or `+=`) for each product of the batch, op(A_i) packed by `packAWasm`
 * into `packed`: a `PANELS` job without pack-A tasks (also for shapes that `gemmWasm` runs as
 * `ROWS` or `DOT`); `m`, `n`, `k` ≥ 1; the A fields of `s` are ignored. Returns false, doing
 * nothing, when `packed` is not a block of the flavour's memory or the operands do not fit.
 */
export function gemmPackedWasm(
  m: number,
  n: number,
  k: number,
  packed: Float32Array,
  b: Float32Array,
  c: Float32Array,
  s: WasmGemmSettings,
): boolean {
  const engine = engineFor(s.relaxed);
  const address = addressOf(engine, packed, 0), step = packedABytes(s.relaxed, m, k);
  if (address < 0 || packed.length * 4 < s.batch * step) return false;
  if (!setUpPanels(engine, m, n, k, { address, step }, b, c, s)) return false;
  runJob(engine, s.threads, engine.ctrl[TASKS] + engine.ctrl[PACK_TASKS]);
  transferC(engine, c, m, n, s, false);
  return true;
}

/** Runs the job set up in the control block on up to `threads` threads, the caller included. */
function runJob(engine: Engine, threadsWanted: number, tasks: number): void {
  const ctrl = engine.ctrl;
  const threads = engine.shared ? Math.min(threadsWanted, MAX_WORKERS + 1) : 1;
  Atomics.store(ctrl, NEXT, 0);

  const helpers = (callerRunsTasks ? Math.min(threads, tasks) : threads) - 1;
  while (engine.workers.length < helpers) engine.workers.push(spawnWorker(engine, engine.workers.length));
  let posted = 0;
  for (let i = 0; i < helpers; i++) {
    if (!engine.workers[i].alive) {
      // It failed to start or reported an error: make sure it never picks up a later post.
      Atomics.store(ctrl, MAILBOX + i, QUIT);
      continue;
    }
    Atomics.store(ctrl, MAILBOX + i, POSTED);
    Atomics.notify(ctrl, MAILBOX + i);
    posted++;
  }
  const callerRuns = callerRunsTasks || posted === 0;
  try {
    if (callerRuns) runTasks(engine.kernel, ctrl, 0);
  } catch (error) {
    // A bug: let the workers' waits give up, and leave no job running behind.
    Atomics.store(ctrl, FAILED, 1);
    for (let i = 0; i < helpers; i++) if (engine.workers[i].alive) collect(ctrl, i, false);
    Atomics.store(ctrl, FAILED, 0);
    throw error;
  }
  for (let i = 0; i < helpers; i++) if (engine.workers[i].alive) collect(ctrl, i, !callerRuns);
  if (Atomics.exchange(ctrl, FAILED, 0) !== 0) {
    throw new Error(
      "Cannot run a CPU kernel: a GEMM worker thread failed; use setCpuThreads(1) to avoid workers",
    );
  }
}

/**
 * Floats that `stageOperand` copies in for `batch` operands of `size` floats, `stride` apart: the
 * whole span when the operands touch or overlap (`stride ≤ size`, one copy), else each operand
 * alone (the gaps between them are not copied).
 */
function stagedFloats(batch: number, stride: number, size: number): number {
  return stride <= size ? (batch - 1) * stride + size : batch * size;
}

/** Copies the operands that `stagedFloats` counts to byte `at`; returns the bytes between them there. */
function stageOperand(
  f32: Float32Array,
  x: Float32Array,
  offset: number,
  at: number,
  batch: number,
  stride: number,
  size: number,
): number {
  if (stride <= size) {
    f32.set(x.subarray(offset, offset + (batch - 1) * stride + size), at / 4);
    return stride * 4;
  }
  for (let i = 0; i < batch; i++) {
    f32.set(x.subarray(offset + i * stride, offset + i * stride + size), at / 4 + i * size);
  }
  return size * 4;
}

/** A packed before a job (`packAWasm`): product i's panels at byte `address + i·step`. */
interface PrepackedA {
  readonly address: number;
  readonly step: number;
}

/**
 * Lays out a `PANELS` job for the whole batch: copies A, B (and C when accumulating) in unless they
 * are views of the memory, places each product's packed A, packed B and padded C, and sets pack
 * and compute tasks. With `a` already packed, the job reads it in place and has no pack-A tasks.
 */
function setUpPanels(
  engine: Engine,
  m: number,
  n: number,
  k: number,
  a: Float32Array | PrepackedA,
  b: Float32Array,
  c: Float32Array,
  s: WasmGemmSettings,
): boolean {
  const { mr, nr, ctrl } = engine;
  const batch = s.batch, prepacked = a instanceof Float32Array ? undefined : a;
  const mPanels = Math.ceil(m / mr), nPanels = Math.ceil(n / nr);
  const ldc = nPanels * nr;
  // B is read in place when it is row-major and each of its panels serves few A panels (packing
  // would not pay) or has few depth steps (its rows stay in the TLB).
  const direct = !s.transposeB && (mPanels <= DIRECT_B_MAX_A_PANELS || k <= DIRECT_B_MAX_DEPTH);
  // Operands that are views of the memory are read in place; the others are copied in first. C is
  // written in place when its rows need no padding.
  const inA = prepacked ? 0 : addressOf(engine, a as Float32Array, s.offsetA);
  const inB = addressOf(engine, b, s.offsetB);
  const inC = ldc === n ? addressOf(engine, c, s.offsetC) : -1;
  const layout = { next: scratchBase(engine) };
  const rawA = place(layout, inA, stagedFloats(batch, s.strideA, m * k) * 4);
  // Slack past raw B: the last in-place panel reads up to nr − 1 floats past B's last row (a
  // view's B has other blocks or this call's data after it, or n is a multiple of nr).
  const rawB = place(layout, inB, (stagedFloats(batch, s.strideB, k * n) + nr) * 4);
  // A ring of packing slots, products taking turns: enough for the threads to pack ahead, and
  // within PACK_RING_BYTES unless that is fewer.
  const aStep = prepacked ? 0 : align(mPanels * mr * k * 4), bStep = direct ? 0 : align(nPanels * nr * k * 4);
  const threads = engine.shared ? s.threads : 1;
  const slots = Math.min(
    batch,
    MAX_SLOTS,
    packSlots ?? Math.max(MIN_SLOTS, threads + 1, Math.floor(PACK_RING_BYTES / (aStep + bStep))),
  );
  const aBase = place(layout, -1, slots * aStep);
  const bBase = place(layout, -1, slots * bStep);
  const cStep = inC >= 0 ? s.strideC * 4 : align(m * ldc * 4);
  const cBase = place(layout, inC, batch * cStep);
  const stage = place(layout, -1, ldc === n ? 0 : m * n * 4);
  if (!reserve(engine, layout.next + 64)) return false;
  const f32 = engine.f32;
  const rawAStep = inA >= 0
    ? s.strideA * 4
    : stageOperand(f32, a as Float32Array, s.offsetA, rawA, batch, s.strideA, m * k);
  const rawBStep = inB >= 0 ? s.strideB * 4 : stageOperand(f32, b, s.offsetB, rawB, batch, s.strideB, k * n);
  ctrl[BATCH] = batch;
  ctrl[C_BASE] = cBase;
  ctrl[C_STEP] = cStep;
  ctrl[LDC] = ldc * 4;
  ctrl[STAGE] = stage;
  if (s.accumulate) transferC(engine, c, m, n, s, true);

  // Pack tasks of about PACK_FLOATS floats each.
  const chunkA = Math.max(1, Math.floor(PACK_FLOATS / (k * mr)));
  const chunkB = Math.max(1, Math.floor(PACK_FLOATS / (k * nr)));
  const packATasks = prepacked ? 0 : Math.ceil(mPanels / chunkA);
  const packEach = packATasks + (direct ? 0 : Math.ceil(nPanels / chunkB));
  ctrl[MODE] = PANELS;
  ctrl[RAW_A] = rawA;
  ctrl[RAW_B] = rawB;
  ctrl[RAW_A_STEP] = rawAStep;
  ctrl[RAW_B_STEP] = rawBStep;
  ctrl[M] = m;
  ctrl[N] = n;
  ctrl[A_STRIDE_W] = s.transposeA ? 4 : k * 4;
  ctrl[A_STRIDE_P] = s.transposeA ? m * 4 : 4;
  ctrl[B_STRIDE_W] = s.transposeB ? k * 4 : 4;
  ctrl[B_STRIDE_P] = s.transposeB ? 4 : n * 4;
  ctrl[PACK_A_TASKS] = packATasks;
  ctrl[PACK_TASKS_EACH] = packEach;
  ctrl[PACK_TASKS] = batch * packEach;
  ctrl[PACK_CHUNK_A] = chunkA;
  ctrl[PACK_CHUNK_B] = chunkB;
  ctrl[SLOTS] = slots;
  ctrl.fill(0, PACKED_SLOTS, PACKED_SLOTS + slots);
  ctrl.fill(0, COMPUTED_SLOTS, COMPUTED_SLOTS + slots);

  // Compute tasks: shrink the nominal task until the threads can share the batch's tasks evenly.
  let taskM = Math.max(1, Math.round(TASK_ROWS / mr)), taskN = Math.max(1, Math.round(TASK_COLUMNS / nr));
  const tasksOf = () => Math.ceil(mPanels / taskM) * Math.ceil(nPanels / taskN);
  // At least four tasks per thread, and a multiple of the thread count unless there are many: 9
  // tasks on 2 threads left one idle for a ninth of the product (AlexNet's conv2 and conv5 took
  // 3–6% longer than with 18).
  const balanced = () => {
    const t = batch * tasksOf();
    return t >= 4 * threads && (t % threads === 0 || t >= 16 * threads);
  };
  while (threads > 1 && !balanced() && (taskN > 1 || taskM > 1)) {
    if (taskN > 1 && Math.ceil(nPanels / taskN) <= Math.ceil(mPanels / taskM) * 2) {
      taskN = Math.ceil(taskN / 2);
    } else if (taskM > 1) taskM = Math.ceil(taskM / 2);
    else taskN = Math.ceil(taskN / 2);
  }
  ctrl[TASKS_EACH] = tasksOf();
  ctrl[TASKS] = batch * tasksOf();
  ctrl[TASKS_N] = Math.ceil(nPanels / taskN);
  ctrl[A_BASE] = prepacked ? prepacked.address : aBase;
  ctrl[A_STEP] = aStep;
  ctrl[PREPACKED_A_STEP] = prepacked ? prepacked.step : 0;
  ctrl[B_BASE] = bBase;
  ctrl[B_STEP] = bStep;
  ctrl[KC] = Math.ceil(k / Math.ceil(k / KC_MAX));
  ctrl[K] = k;
  ctrl[M_PANELS] = mPanels;
  ctrl[N_PANELS] = nPanels;
  ctrl[TASK_M] = taskM;
  ctrl[TASK_N] = taskN;
  ctrl[LDB] = direct ? n * 4 : nr * 4;
  ctrl[BP_STRIDE] = direct ? nr * 4 : k * nr * 4;
  ctrl[ACCUMULATE] = s.accumulate ? 1 : 0;
  ctrl[LAST_ROWS] = m - (mPanels - 1) * mr;
  ctrl[MR] = mr;
  ctrl[NR] = nr;
  return true;
}

/**
 * Lays out a `DOT` job (A `[m, k]` times B `[n, k]` transposed): copies A and B in with rows
 * padded with zeros to whole tiles, and cuts the depth into chunks whose rows fit in L2 together.
 */
function setUpDot(
  engine: Engine,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  s: WasmGemmSettings,
): boolean {
  const { dr, dc, ctrl } = engine;
  const mTiles = Math.ceil(m / dr), nTiles = Math.ceil(n / dc);
  const mPad = mTiles * dr, nPad = nTiles * dc;
  let chunk = Math.max(DOT_MIN_CHUNK, Math.ceil(DOT_CHUNK_FLOATS / (mPad + nPad) / 4) * 4);
  if (k / chunk > DOT_MAX_CHUNKS) chunk = Math.ceil(k / DOT_MAX_CHUNKS / 4) * 4;
  const chunks = Math.ceil(k / chunk);
  // Workspace operands are read in place: their padding rows are whatever follows them (only
  // partial results that are never read depend on those rows), so the memory must reach past them.
  const inA = addressOf(engine, a, s.offsetA), inB = addressOf(engine, b, s.offsetB);
  const layout = { next: scratchBase(engine) };
  const rawA = place(layout, inA, mPad * k * 4), rawB = place(layout, inB, nPad * k * 4);
  const partials = layout.next;
  const end = Math.max(partials + chunks * mPad * nPad * 4, rawA + mPad * k * 4, rawB + nPad * k * 4);
  if (!reserve(engine, end)) return false;
  const f32 = engine.f32;
  if (inA < 0) {
    f32.set(a.subarray(s.offsetA, s.offsetA + m * k), rawA / 4);
    f32.fill(0, rawA / 4 + m * k, rawA / 4 + mPad * k);
  }
  if (inB < 0) {
    f32.set(b.subarray(s.offsetB, s.offsetB + n * k), rawB / 4);
    f32.fill(0, rawB / 4 + n * k, rawB / 4 + nPad * k);
  }
  ctrl[MODE] = DOT;
  ctrl[TASKS] = chunks;
  ctrl[K] = k;
  ctrl[KC] = chunk;
  ctrl[A_BASE] = rawA;
  ctrl[B_BASE] = rawB;
  ctrl[C_BASE] = partials;
  ctrl[M_PANELS] = mTiles;
  ctrl[N_PANELS] = nTiles;
  ctrl[LDC] = nPad * 4;
  ctrl[PARTIAL_STRIDE] = mPad * nPad * 4;
  return true;
}

/**
 * Lays out a `ROWS` job (at most `GEMV_MAX_ROWS` rows of row-major A times row-major B): copies A
 * and B in unless they are views of the memory, zeroes one partial C per depth chunk (two chunks
 * per thread, so that a thread slowed by other work takes fewer).
 */
function setUpRows(
  engine: Engine,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  s: WasmGemmSettings,
): boolean {
  const { ctrl } = engine;
  const threads = engine.shared ? s.threads : 1;
  const chunks = Math.min(threads > 1 ? 2 * threads : 1, Math.ceil(k / ROWS_MIN_CHUNK));
  const chunk = Math.ceil(k / chunks);
  const inA = addressOf(engine, a, s.offsetA), inB = addressOf(engine, b, s.offsetB);
  const layout = { next: scratchBase(engine) };
  const rawA = place(layout, inA, m * k * 4), rawB = place(layout, inB, k * n * 4);
  const partials = layout.next, partialFloats = m * n;
  const tasks = Math.ceil(k / chunk);
  if (!reserve(engine, partials + tasks * partialFloats * 4 + 64)) return false;
  const f32 = engine.f32;
  if (inA < 0) f32.set(a.subarray(s.offsetA, s.offsetA + m * k), rawA / 4);
  if (inB < 0) f32.set(b.subarray(s.offsetB, s.offsetB + k * n), rawB / 4);
  f32.fill(0, partials / 4, partials / 4 + tasks * partialFloats);
  ctrl[MODE] = ROWS;
  ctrl[TASKS] = tasks;
  ctrl[K] = k;
  ctrl[KC] = chunk;
  ctrl[M] = m;
  ctrl[N] = n;
  ctrl[A_BASE] = rawA;
  ctrl[A_STRIDE_W] = k * 4;
  ctrl[B_BASE] = rawB;
  ctrl[LDB] = n * 4;
  ctrl[C_BASE] = partials;
  ctrl[LDC] = n * 4;
  ctrl[PARTIAL_STRIDE] = partialFloats * 4;
  return true;
}

/** C (=, or += when accumulating) the sum of a `DOT` or `ROWS` job's partials. */
function sumPartials(engine: Engine, m: number, n: number, c: Float32Array, s: WasmGemmSettings): void {
  const { ctrl, f32 } = engine;
  const chunks = ctrl[TASKS], ld = ctrl[LDC] / 4;
  const stride = (ctrl[PARTIAL_STRIDE] >>> 0) / 4, base = (ctrl[C_BASE] >>> 0) / 4;
  for (let i = 0; i < m; i++) {
    const row = s.offsetC + i * n;
    for (let j = 0; j < n; j++) {
      let sum = s.accumulate ? c[row + j] : 0;
      for (let t = 0, p = base + i * ld + j; t < chunks; t++, p += stride) sum += f32[p];
      c[row + j] = sum;
    }
  }
}

/** Worker threads started so far for each kernel flavour (for `describe`). */
export function workersStarted(): number {
  let count = 0;
  for (const engine of engines.values()) count += engine.workers.filter((w) => w.alive).length;
  return count;
}

/**
 * For tests: the flavour's workers that serve jobs, tasks run so far by each thread (caller first),
 * and a switch that makes the caller leave every task to the workers it posts to (it then waits
 * for them, so call it only once `ready` covers them).
 */
export function threadStats(relaxed: boolean): { ready: number; done: number[] } {
  const engine = engines.get(relaxed);
  if (!engine) return { ready: 0, done: [] };
  const ready = engine.workers.filter((_, i) => Atomics.load(engine.ctrl, READY + i) === SERVING).length;
  const done = Array.from({ length: engine.workers.length + 1 }, (_, i) => engine.ctrl[DONE + i]);
  return { ready, done };
}

/**
 * For tests: packing slots of every batched job from now on, at least 2 (undefined: the default,
 * from `PACK_RING_BYTES`); returns the previous value.
 */
export function setPackSlots(slots: number | undefined): number | undefined {
  const before = packSlots;
  packSlots = slots === undefined ? undefined : Math.max(2, slots);
  return before;
}

/** For tests: whether the caller claims tasks too (default true); returns the previous value. */
export function setCallerRunsTasks(value: boolean): boolean {
  const before = callerRunsTasks;
  callerRunsTasks = value;
  return before;
}

/**
 * Views of `floats[i]` floats each in the flavour's memory, right after the control block, that
 * `gemmWasm`, `unfoldWasm` and `foldWasm` use in place; each later call places its own data after
 * them. Undefined where the memory is not shared (growing it would detach the views) or cannot
 * grow that far.
 */
export function workspaceWasm(relaxed: boolean, floats: readonly number[]): Float32Array[] | undefined {
  const engine = engineFor(relaxed);
  if (!engine.shared) return undefined;
  const offsets: number[] = [];
  let bytes = 0;
  for (const f of floats) {
    offsets.push(bytes);
    bytes = align(bytes + f * 4 + 64);
  }
  const ws = engine.workspace;
  if (ws.bytes < bytes) {
    if (ws.bytes > 0) engine.arena.release(ws.offset);
    ws.bytes = 0;
    const offset = engine.arena.allocate(bytes);
    if (offset < 0) return undefined;
    ws.offset = offset;
    ws.bytes = bytes;
  }
  if (!reserve(engine, scratchBase(engine) + 65536)) return undefined;
  const buffer = engine.f32.buffer;
  return floats.map((f, i) => new Float32Array(buffer, ws.offset + offsets[i], f));
}

/**
 * A block of at least `floats` floats of the flavour's memory, as a view (contents unspecified),
 * for tensor storage that the kernels then read and write in place; undefined where the memory is
 * not shared (growing it would detach the view) or the arena is full.
 */
export function allocateWasm(relaxed: boolean, floats: number): Float32Array | undefined {
  const engine = engineFor(relaxed);
  if (!engine.shared) return undefined;
  const offset = engine.arena.allocate(floats * 4);
  return offset < 0 ? undefined : new Float32Array(engine.f32.buffer, offset, floats);
}

/**
 * Gives the block that `view` starts (a view from `allocateWasm`) back to its arena.
 *
 * @returns Whether `view` was such a block (false for any other array, which is left alone).
 */
export function releaseWasm(view: Float32Array): boolean {
  for (const engine of engines.values()) {
    const at = view.byteOffset;
    if (!engine.buffers.has(view.buffer) || !engine.arena.isLive(at) || at === engine.workspace.offset) {
      continue;
    }
    engine.arena.release(at);
    return true;
  }
  return false;
}

/**
 * The calling thread's kernel exports of the memory that every array in `arrays` is a view of
 * (their byte offsets are then their addresses), or undefined when some array is not such a view.
 */
export function kernelHolding(arrays: readonly Float32Array[]): KernelExports | undefined {
  for (const engine of engines.values()) {
    if (!engine.shared) continue;
    let all = true;
    for (const array of arrays) all &&= engine.buffers.has(array.buffer);
    if (all) return engine.kernel;
  }
  return undefined;
}

/** Window elements below which a max pooling runs on the calling thread alone. */
const POOL_THREADED_MIN_READS = 1 << 16;

/** Geometry of an unpadded pooling over `planes` planes of `h × w` (see `maxPool` of `_simd_kernels.ts`). */
export interface PoolGeometry {
  readonly planes: number;
  readonly h: number;
  readonly w: number;
  readonly oh: number;
  readonly ow: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
}

/**
 * Max pooling of `x` into `y`, chunks of planes on up to `threads` threads (one below
 * `POOL_THREADED_MIN_READS` window elements); false, doing nothing, unless both arrays are views of
 * one kernel memory. The caller checks that every window lies inside its plane.
 */
export function maxPoolWasm(threads: number, x: Float32Array, y: Float32Array, g: PoolGeometry): boolean {
  for (const engine of engines.values()) {
    const xAt = addressOf(engine, x, 0), yAt = addressOf(engine, y, 0);
    if (xAt < 0 || yAt < 0) continue;
    const used = g.planes * g.oh * g.ow * g.kh * g.kw < POOL_THREADED_MIN_READS ? 1 : threads;
    if (used === 1) {
      engine.kernel.maxPool(xAt, yAt, g.planes, g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw);
      return true;
    }
    const ctrl = engine.ctrl;
    // Four tasks a thread, so that a thread slowed by other work takes fewer.
    const chunk = Math.max(1, Math.ceil(g.planes / (4 * used)));
    ctrl[MODE] = POOL;
    ctrl[TASKS] = Math.ceil(g.planes / chunk);
    ctrl[PLANES] = g.planes;
    ctrl[PLANE_CHUNK] = chunk;
    ctrl[IMG_BASE] = xAt;
    ctrl[Y_BASE] = yAt;
    ctrl[HEIGHT] = g.h;
    ctrl[WIDTH] = g.w;
    ctrl[OH] = g.oh;
    ctrl[OW] = g.ow;
    ctrl[KH] = g.kh;
    ctrl[KW] = g.kw;
    ctrl[TAP_Y] = g.sh;
    ctrl[TAP_X] = g.sw;
    runJob(engine, used, ctrl[TASKS]);
    return true;
  }
  return false;
}

/** The arena counts of every flavour's memory, summed, plus the memories' bytes. */
export function arenaStats(): Omit<ArenaStats, "top"> & { readonly memoryBytes: number } {
  let liveBytes = 0, liveBlocks = 0, freeBytes = 0, memoryBytes = 0;
  for (const engine of engines.values()) {
    const s = engine.arena.stats();
    liveBytes += s.liveBytes;
    liveBlocks += s.liveBlocks;
    freeBytes += s.freeBytes;
    memoryBytes += engine.memory.buffer.byteLength;
  }
  return { liveBytes, liveBlocks, freeBytes, memoryBytes };
}

/** What `unfoldWasm` and `foldWasm` need to know; see `Im2colGeometry` in `im2col.ts`. */
export interface PlaneGeometry {
  readonly images: number;
  readonly channels: number;
  readonly image0: number;
  readonly channel0: number;
  readonly xChannels: number;
  readonly height: number;
  readonly width: number;
  readonly kh: number;
  readonly kw: number;
  readonly oh: number;
  readonly ow: number;
  readonly sh: number;
  readonly sw: number;
  readonly ph: number;
  readonly pw: number;
  readonly dh: number;
  readonly dw: number;
}

/** Values of one task of an unfold or fold job, at least (the rest are spread over threads). */
const PLANE_TASK_FLOATS = 1 << 14;
/** Jobs below this many cols values run on the calling thread only. */
const PLANE_THREADED_MIN = 1 << 16;

/**
 * Sets up an `UNFOLD` or `FOLD` job whose zero-padded planes start at `img`, whose unpadded planes
 * start at `raw` (0 without padding: `img` then holds them) and whose cols start at `cols`, and
 * runs it.
 */
function runPlanes(
  engine: Engine,
  mode: number,
  threads: number,
  addresses: { readonly img: number; readonly raw: number; readonly cols: number },
  g: PlaneGeometry,
) {
  const { img, raw, cols } = addresses;
  const { ctrl } = engine;
  const hp = g.height + 2 * g.ph, wp = g.width + 2 * g.pw, planes = g.images * g.channels;
  const perPlane = g.kh * g.kw * g.oh * g.ow, total = planes * perPlane;
  const used = total < PLANE_THREADED_MIN ? 1 : threads;
  const chunk = Math.max(
    1,
    Math.min(Math.floor(PLANE_TASK_FLOATS / perPlane), Math.ceil(planes / (4 * used))),
  );
  ctrl[MODE] = mode;
  ctrl[TASKS] = Math.ceil(planes / chunk);
  ctrl[PLANES] = planes;
  ctrl[PLANE_CHUNK] = chunk;
  ctrl[CHANNELS] = g.channels;
  ctrl[IMG_BASE] = img;
  ctrl[IMG_PLANE] = hp * wp * 4;
  ctrl[COLS_BASE] = cols;
  ctrl[KH] = g.kh;
  ctrl[KW] = g.kw;
  ctrl[OH] = g.oh;
  ctrl[OW] = g.ow;
  ctrl[TAP_Y] = g.dh * wp * 4;
  ctrl[TAP_X] = g.dw * 4;
  ctrl[ROW_STEP] = g.sh * wp * 4;
  ctrl[COL_STEP] = g.sw * 4;
  ctrl[LD_COLS] = g.images * g.oh * g.ow * 4;
  ctrl[RAW_BASE] = raw;
  ctrl[HEIGHT] = g.height;
  ctrl[WIDTH] = g.width;
  ctrl[INTERIOR] = (g.ph * wp + g.pw) * 4;
  ctrl[LD_PADDED] = wp * 4;
  runJob(engine, used, ctrl[TASKS]);
}

/**
 * im2col into `cols`, a workspace view: copies the images (zero-padded) after the workspace, then
 * unfolds them on up to `threads` threads. False, doing nothing, when `cols` is not a workspace view
 * of this flavour or the memory cannot grow.
 */
export function unfoldWasm(
  relaxed: boolean,
  threads: number,
  x: Float32Array,
  cols: Float32Array,
  g: PlaneGeometry,
): boolean {
  const engine = engineFor(relaxed);
  const colsAt = addressOf(engine, cols, 0);
  if (colsAt < 0) return false;
  // The images are copied in as they are, then each task pads its planes itself.
  const stage = stagePlanes(engine, g);
  if (!stage) return false;
  const f32 = engine.f32, raw = stage.raw / 4;
  forEachImageBlock(g, (xAt, at, count) => f32.set(x.subarray(xAt, xAt + count), raw + at));
  if (stage.padded) f32.fill(0, stage.img / 4, stage.img / 4 + stage.paddedFloats);
  runPlanes(engine, UNFOLD, threads, { img: stage.img, raw: stage.padded ? stage.raw : 0, cols: colsAt }, g);
  return true;
}

/** Where unfold and fold stage images after the workspace; undefined when the memory cannot grow. */
function stagePlanes(
  engine: Engine,
  g: PlaneGeometry,
): { img: number; raw: number; padded: boolean; paddedFloats: number } | undefined {
  const { height: h, width: w, ph, pw, channels, images } = g;
  const padded = ph > 0 || pw > 0, planes = images * channels;
  // Padded planes at `img`; the unpadded copies at `raw` (the same place when there is no padding).
  const paddedFloats = planes * (h + 2 * ph) * (w + 2 * pw), img = scratchBase(engine);
  const raw = padded ? align(img + paddedFloats * 4) : img;
  if (!reserve(engine, raw + planes * h * w * 4)) return undefined;
  return { img, raw, padded, paddedFloats };
}

/**
 * Calls `copy(xAt, stagedAt, count)` for the image blocks of `g` between x (offset `xAt`) and the
 * staged copies (offset `stagedAt`): one call when `g` covers all of x's channels, else one per image.
 */
function forEachImageBlock(
  g: PlaneGeometry,
  copy: (xAt: number, stagedAt: number, count: number) => void,
): void {
  const plane = g.height * g.width, block = g.channels * plane;
  if (g.channels === g.xChannels) copy(g.image0 * block, 0, g.images * block);
  else {
    for (let b = 0; b < g.images; b++) {
      copy(((g.image0 + b) * g.xChannels + g.channel0) * plane, b * block, block);
    }
  }
}

/**
 * col2im from `cols`, a workspace view, into `dx` (overwriting the images and channels of `g`):
 * folds onto zeroed padded planes after the workspace on up to `threads` threads, then copies
 * their interiors out. False, doing nothing, as for `unfoldWasm`.
 */
export function foldWasm(
  relaxed: boolean,
  threads: number,
  cols: Float32Array,
  dx: Float32Array,
  g: PlaneGeometry,
): boolean {
  const engine = engineFor(relaxed);
  const colsAt = addressOf(engine, cols, 0);
  if (colsAt < 0) return false;
  // Each task folds onto its zeroed padded planes and copies their interiors out; then the images
  // are copied into dx.
  const stage = stagePlanes(engine, g);
  if (!stage) return false;
  engine.f32.fill(0, stage.img / 4, stage.img / 4 + stage.paddedFloats);
  runPlanes(engine, FOLD, threads, { img: stage.img, raw: stage.padded ? stage.raw : 0, cols: colsAt }, g);
  const f32 = engine.f32, raw = stage.raw / 4;
  forEachImageBlock(g, (xAt, at, count) => dx.set(f32.subarray(raw + at, raw + at + count), xAt));
  return true;
}

/** What `convWasm` needs besides the image geometry: the filters and where the outputs go. */
export interface ConvTarget {
  /** Output channels computed (the group's filters). */
  readonly filters: number;
  /** First filter row of `w` (`[·, channels·kh·kw]`) and first output channel of `y`. */
  readonly filter0: number;
  /** Channels per image of `y` (`[·, yChannels, oh, ow]`). */
  readonly yChannels: number;
}

/** Multiply-adds below which a convolution runs on the calling thread only. */
const CONV_THREADED_MIN_MACS = 1 << 20;

/**
 * A convolution without im2col (the kernel's `conv`) of the images and channels of `g` by
 * `t.filters` filters of `w`, written into channels `[filter0, filter0 + filters)` of `y`: copies
 * the images in (padded by pad tasks), the tap offsets and the weights in panels, runs the tasks
 * and copies the outputs out. False, doing nothing, when the memory cannot grow.
 */
export function convWasm(
  relaxed: boolean,
  threads: number,
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  g: PlaneGeometry,
  t: ConvTarget,
): boolean {
  const engine = engineFor(relaxed);
  const { mr, nr, ctrl } = engine;
  const { height: h, width: wd, ph, pw, channels, images, kh, kw, oh, ow, filters: og } = { ...g, ...t };
  const padded = ph > 0 || pw > 0, planes = images * channels;
  const hp = h + 2 * ph, wp = wd + 2 * pw, k = channels * kh * kw, plane = oh * ow;
  const panels = Math.ceil(og / nr);
  // Layout: padded planes, slack (a partial tile reads past its image), unpadded planes, tap
  // offsets, weight panels, outputs.
  const img = scratchBase(engine);
  const raw = padded ? align(img + (planes + channels) * hp * wp * 4 + 64) : img;
  const offs = align(raw + (padded ? planes : planes + channels) * wd * h * 4 + 64);
  const wpk = align(offs + k * 4), yb = align(wpk + panels * k * nr * 4);
  if (!reserve(engine, yb + images * og * plane * 4)) return false;
  const f32 = engine.f32;
  stageImages(engine, x, g, img, raw);
  writeTapOffsets(engine, g, offs, k);
  for (let panel = 0, d = wpk / 4; panel < panels; panel++) {
    for (let p = 0; p < k; p++) {
      for (let j = 0; j < nr; j++, d++) {
        const o = panel * nr + j;
        f32[d] = o < og ? w[(t.filter0 + o) * k + p] : 0;
      }
    }
  }
  const used = images * plane * og * k < CONV_THREADED_MIN_MACS || !engine.shared ? 1 : threads;
  // Tasks: whole images when there are enough of them, else chunks of tiles.
  const split = Math.max(1, Math.ceil((4 * used) / images));
  const chunk = Math.ceil(Math.ceil(plane / split) / mr) * mr;
  const perImage = Math.ceil(plane / chunk);
  const padTasks = setUpPadding(engine, CONV, used, g, { img, raw, offs });
  ctrl[TASKS] = images * perImage;
  ctrl[WPACK] = wpk;
  ctrl[Y_BASE] = yb;
  ctrl[POS_CHUNK] = chunk;
  ctrl[CHUNKS_PER_IMAGE] = perImage;
  ctrl[PLANE_OUT] = plane;
  ctrl[K] = k;
  ctrl[OW] = ow;
  ctrl[COL_STEP] = g.sw * 4;
  ctrl[ROW_STEP] = g.sh * wp * 4;
  ctrl[CONV_PANELS] = panels;
  ctrl[OG] = og;
  runJob(engine, used, padTasks + images * perImage);
  const out = engine.f32, at = yb / 4, outBlock = og * plane;
  if (og === t.yChannels) {
    y.set(out.subarray(at, at + images * outBlock), g.image0 * outBlock);
  } else {
    for (let b = 0; b < images; b++) {
      y.set(
        out.subarray(at + b * outBlock, at + (b + 1) * outBlock),
        ((g.image0 + b) * t.yChannels + t.filter0) * plane,
      );
    }
  }
  return true;
}

/** What `convRowsWasm` adds to a `ConvTarget`: a bias per filter and a fused ReLU. */
export interface ConvRowsTarget extends ConvTarget {
  /** `[·]` biases; filter f adds `bias[filter0 + f]`. */
  readonly bias?: Float32Array;
  /** Apply max(·, 0) to the outputs. */
  readonly relu?: boolean;
}

/**
 * A stride-1 convolution with vectors along output columns (the kernel's `convRows`) of the images
 * and channels of `g` by `t.filters` filters of `w`, into channels `[filter0, filter0 + filters)`
 * of `y`, plus bias and ReLU when asked. Operands that are views of the memory are used in place:
 * the images (unpadded, all channels), the bias and `y`; the rest is staged, and the weights are
 * always packed for the kernel (`packConvRowsWeights`, on the calling thread: 2,400 values for
 * LeNet-5's conv2). False, doing nothing, for other strides or when the memory cannot grow.
 */
export function convRowsWasm(
  relaxed: boolean,
  threads: number,
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  g: PlaneGeometry,
  t: ConvRowsTarget,
): boolean {
  if (g.sh !== 1 || g.sw !== 1) return false;
  const engine = engineFor(relaxed);
  const { ctrl } = engine;
  const { height: h, width: wd, ph, pw, channels, images, kh, kw, oh, ow } = g;
  const og = t.filters, padded = ph > 0 || pw > 0, planes = images * channels;
  const hp = h + 2 * ph, wp = wd + 2 * pw, k = channels * kh * kw;
  const wholeImages = channels === g.xChannels;
  const rawAt = wholeImages ? addressOf(engine, x, g.image0 * channels * h * wd) : -1;
  const biasAt = t.bias ? addressOf(engine, t.bias, t.filter0) : 0;
  const yImage = t.yChannels * oh * ow * 4;
  const yFirst = (g.image0 * t.yChannels + t.filter0) * oh * ow;
  const yAt = addressOf(engine, y, yFirst);
  const yInPlace = yAt >= 0;
  // Layout: padded planes (then slack: the last columns of a row read up to 3 floats past it), the
  // unpadded planes unless in place, the weights packed for the kernel (a vector per filter group and
  // tap), the bias unless in place, the outputs unless in place.
  let next = scratchBase(engine);
  const img = padded || rawAt < 0 ? next : rawAt;
  if (img === next) next = align(next + planes * hp * wp * 4 + 64);
  const raw = rawAt >= 0 ? rawAt : padded ? next : img;
  if (rawAt < 0 && padded) next = align(next + planes * h * wd * 4 + 64);
  const wb = next;
  next = align(next + convRowsWeightsLength(og, k) * 4);
  const bb = t.bias && biasAt < 0 ? next : biasAt;
  if (t.bias && biasAt < 0) next = align(next + og * 4);
  const yb = yInPlace ? yAt : next;
  if (!yInPlace) next = align(next + images * og * oh * ow * 4);
  if (!reserve(engine, next + 64)) return false;
  const f32 = engine.f32;
  if (rawAt < 0) stageImages(engine, x, g, img, raw);
  else if (padded) f32.fill(0, img / 4, img / 4 + planes * hp * wp);
  packConvRowsWeights(w, t.filter0, og, k, f32, wb / 4);
  if (t.bias && biasAt < 0) f32.set(t.bias.subarray(t.filter0, t.filter0 + og), bb / 4);
  const used = images * oh * ow * og * k < CONV_THREADED_MIN_MACS || !engine.shared ? 1 : threads;
  const perImage = Math.min(oh, Math.max(1, Math.ceil((4 * used) / images)));
  const chunk = Math.ceil(oh / perImage);
  const padTasks = padded ? setUpPadding(engine, CONV_ROWS, used, g, { img, raw, offs: 0 }) : 0;
  if (!padded) {
    ctrl[MODE] = CONV_ROWS;
    ctrl[PACK_TASKS] = 0;
    ctrl[PACKED] = 0;
    ctrl[IMG_BASE] = img;
    ctrl[IMG_PLANE] = h * wd * 4;
    ctrl[LD_PADDED] = wd * 4;
    ctrl[CHANNELS] = channels;
  }
  const ldY = ow * 4;
  ctrl[TASKS] = images * Math.ceil(oh / chunk);
  ctrl[CHUNKS_PER_IMAGE] = Math.ceil(oh / chunk);
  ctrl[POS_CHUNK] = chunk;
  ctrl[KH] = kh;
  ctrl[KW] = kw;
  ctrl[TAP_Y] = g.dh;
  ctrl[TAP_X] = g.dw;
  ctrl[WPACK] = wb;
  ctrl[C_BASE] = bb;
  ctrl[ACCUMULATE] = t.relu ? 1 : 0;
  ctrl[Y_BASE] = yb;
  ctrl[LDB] = yInPlace ? yImage : og * oh * ldY;
  ctrl[LD_COLS] = ldY;
  ctrl[PLANE_OUT] = oh * ldY;
  ctrl[OH] = oh;
  ctrl[OW] = ow;
  ctrl[OG] = og;
  runJob(engine, used, padTasks + ctrl[TASKS]);
  if (yInPlace) return true;
  // Copy the outputs out, each image's planes to their place.
  for (let b = 0; b < images; b++) {
    const from = yb / 4 + b * og * oh * ow;
    y.set(engine.f32.subarray(from, from + og * oh * ow), yFirst + b * (yImage / 4));
  }
  return true;
}

/** Copies the images of `g` into the kernel memory at `raw` (unpadded; `raw` = `img` without padding) and zeroes the padded planes at `img`. */
function stageImages(engine: Engine, x: Float32Array, g: PlaneGeometry, img: number, raw: number): void {
  const { height: h, width: wd, ph, pw, channels, images } = g;
  const f32 = engine.f32, block = channels * h * wd;
  if (channels === g.xChannels) {
    const src = g.image0 * block;
    f32.set(x.subarray(src, src + images * block), raw / 4);
  } else {
    for (let b = 0; b < images; b++) {
      const src = ((g.image0 + b) * g.xChannels + g.channel0) * h * wd;
      f32.set(x.subarray(src, src + block), raw / 4 + b * block);
    }
  }
  if (ph > 0 || pw > 0) f32.fill(0, img / 4, img / 4 + images * channels * (h + 2 * ph) * (wd + 2 * pw));
}

/** Writes the byte offset of each tap (channel, kernel row, kernel column) into a padded image, then zeros up to `count`. */
function writeTapOffsets(engine: Engine, g: PlaneGeometry, offs: number, count: number): void {
  const hp = g.height + 2 * g.ph, wp = g.width + 2 * g.pw;
  const i32 = new Int32Array(engine.f32.buffer, offs, count);
  let i = 0;
  for (let c = 0; c < g.channels; c++) {
    for (let p = 0; p < g.kh; p++) {
      for (let q = 0; q < g.kw; q++, i++) i32[i] = ((c * hp + p * g.dh) * wp + q * g.dw) * 4;
    }
  }
  i32.fill(0, i);
}

/** Sets the mode and the words of a `CONV` or `CONV_GRAD` job's pad tasks; returns their count. */
function setUpPadding(
  engine: Engine,
  mode: number,
  threads: number,
  g: PlaneGeometry,
  at: { readonly img: number; readonly raw: number; readonly offs: number },
): number {
  const { ctrl } = engine;
  const planes = g.images * g.channels, wp = g.width + 2 * g.pw;
  const padTasks = g.ph > 0 || g.pw > 0 ? Math.min(planes, 4 * threads) : 0;
  ctrl[MODE] = mode;
  ctrl[PACK_TASKS] = padTasks;
  ctrl[PACKED] = 0;
  ctrl[PLANES] = planes;
  ctrl[PLANE_CHUNK] = padTasks > 0 ? Math.ceil(planes / padTasks) : 1;
  ctrl[HEIGHT] = g.height;
  ctrl[WIDTH] = g.width;
  ctrl[IMG_BASE] = at.img;
  ctrl[IMG_PLANE] = (g.height + 2 * g.ph) * wp * 4;
  ctrl[RAW_BASE] = at.raw;
  ctrl[INTERIOR] = (g.ph * wp + g.pw) * 4;
  ctrl[LD_PADDED] = wp * 4;
  ctrl[CHANNELS] = g.channels;
  ctrl[OFFS] = at.offs;
  return padTasks;
}

/** Where `convGradWasm` adds its result: rows of `dw` and which channels of `dy` they come from. */
export interface ConvGradTarget {
  /** Filters (rows of `dw`, channels of `dy`). */
  readonly filters: number;
  /** First row of `dw` (`[·, channels·kh·kw]`) and first channel of `dy`. */
  readonly filter0: number;
  /** Channels per image of `dy` (`[·, dyChannels, oh, ow]`). */
  readonly dyChannels: number;
}

/**
 * The filter gradient of a convolution without im2col (the kernel's `convGrad`): adds
 * `Σ_(b, oy, ox) dy[b, f, oy, ox] · x[b, c, oy·sh + p·dh − ph, ox + q·dw − pw]` to `dw[filter0 + f,
 * (c, p, q)]`. Only for a column stride of 1 (false otherwise, doing nothing), or false when the
 * memory cannot grow.
 */
export function convGradWasm(
  relaxed: boolean,
  threads: number,
  x: Float32Array,
  dy: Float32Array,
  dw: Float32Array,
  g: PlaneGeometry,
  t: ConvGradTarget,
): boolean {
  if (g.sw !== 1) return false;
  const engine = engineFor(relaxed);
  const { dr, dc, ctrl } = engine;
  const { height: h, width: wd, ph, pw, channels, images, kh, kw, oh, ow } = g;
  const og = t.filters, padded = ph > 0 || pw > 0, planes = images * channels;
  const hp = h + 2 * ph, wp = wd + 2 * pw, k = channels * kh * kw, plane = oh * ow;
  const rTiles = Math.ceil(og / dr), cTiles = Math.ceil(k / dc), partFloats = rTiles * dr * cTiles * dc;
  const used = images * plane * og * k < CONV_THREADED_MIN_MACS || !engine.shared ? 1 : threads;
  const chunk = Math.ceil(images / Math.min(images, 4 * used)), tasks = Math.ceil(images / chunk);
  // Layout: padded planes, unpadded planes, tap offsets, dy (with room for the rows of a partial
  // filter tile, which only feed partial sums that are never read), partial sums.
  const img = scratchBase(engine);
  const raw = padded ? align(img + planes * hp * wp * 4 + 64) : img;
  const offs = align(raw + planes * wd * h * 4 + 64);
  const dyb = align(offs + cTiles * dc * 4);
  const part = align(dyb + (images * og + dr) * plane * 4);
  if (!reserve(engine, part + tasks * partFloats * 4)) return false;
  stageImages(engine, x, g, img, raw);
  writeTapOffsets(engine, g, offs, cTiles * dc);
  const f32 = engine.f32, block = og * plane;
  if (og === t.dyChannels) {
    const src = g.image0 * block;
    f32.set(dy.subarray(src, src + images * block), dyb / 4);
  } else {
    for (let b = 0; b < images; b++) {
      const src = ((g.image0 + b) * t.dyChannels + t.filter0) * plane;
      f32.set(dy.subarray(src, src + block), dyb / 4 + b * block);
    }
  }
  f32.fill(0, part / 4, part / 4 + tasks * partFloats);
  const padTasks = setUpPadding(engine, CONV_GRAD, used, g, { img, raw, offs });
  ctrl[TASKS] = tasks;
  ctrl[Y_BASE] = dyb;
  ctrl[WPACK] = part;
  ctrl[PARTIAL_STRIDE] = partFloats * 4;
  ctrl[LD_COLS] = cTiles * dc * 4;
  ctrl[POS_CHUNK] = chunk;
  ctrl[M] = images;
  ctrl[M_PANELS] = rTiles;
  ctrl[N_PANELS] = cTiles;
  ctrl[OH] = oh;
  ctrl[OW] = ow;
  ctrl[ROW_STEP] = g.sh * wp * 4;
  ctrl[PLANE_OUT] = plane;
  ctrl[OG] = og;
  runJob(engine, used, padTasks + tasks);
  const sums = engine.f32, ld = cTiles * dc;
  for (let f = 0; f < og; f++) {
    const row = (t.filter0 + f) * k;
    for (let tap = 0; tap < k; tap++) {
      let s = dw[row + tap];
      for (let task = 0, at = part / 4 + f * ld + tap; task < tasks; task++, at += partFloats) s += sums[at];
      dw[row + tap] = s;
    }
  }
  return true;
}
