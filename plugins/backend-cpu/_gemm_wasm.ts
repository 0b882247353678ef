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
 * @module
 */
import { gemmKernelBytes, KERNEL_SHAPES, MAX_PAGES } from "./_gemm_kernel.ts";
import {
  A_BASE,
  A_STRIDE_P,
  A_STRIDE_W,
  ACCUMULATE,
  B_BASE,
  B_STRIDE_P,
  B_STRIDE_W,
  BP_STRIDE,
  C_BASE,
  CONTROL_BYTES,
  DONE,
  DOT,
  FAILED,
  IDLE,
  K,
  KC,
  type KernelExports,
  LAST_ROWS,
  LDB,
  LDC,
  M,
  M_PANELS,
  MAILBOX,
  MAX_WORKERS,
  MODE,
  MR,
  N,
  N_PANELS,
  NEXT,
  NR,
  PACK_A_TASKS,
  PACK_CHUNK_A,
  PACK_CHUNK_B,
  PACK_TASKS,
  PACKED,
  PANELS,
  PARTIAL_STRIDE,
  POSTED,
  QUIT,
  RAW_A,
  RAW_B,
  READY,
  runTasks,
  STAGE,
  TASK_M,
  TASK_N,
  TASKS,
  TASKS_N,
} from "./_gemm_tasks.ts";

/** Depth of a block: a 6 × 256 A sliver is 6 KiB and a 256 × 8 B panel 8 KiB (L1 is 32 KiB). */
const KC_MAX = 256;
/** Rows and columns of C per task, before shrinking to give every thread several tasks. */
const TASK_ROWS = 96, TASK_COLUMNS = 256;
/** Floats per pack task. */
const PACK_FLOATS = 1 << 15;
/** B is read in place when A has at most this many panels, or the depth is at most this. */
const DIRECT_B_MAX_A_PANELS = 8, DIRECT_B_MAX_DEPTH = 64;
/** A·Bᵀ runs `dot` when k ≥ this × (m + n): C is small next to the operands, packing would dominate. */
const DOT_MIN_DEPTH_RATIO = 2;
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
}

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
  return {
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
  };
}

// deno-lint-ignore no-explicit-any
const nodeProcess = (globalThis as any).process;

function spawnWorker(engine: Engine, index: number): WorkerHandle {
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
  }
  return true;
}

/**
 * Copies C `[m, n]` into (`toKernel`) or out of the kernel's padded C (row stride `ldc`): one
 * memory copy when the strides agree, else a copy through the staging area and the kernel's `copy`
 * (much faster than a JavaScript loop between a shared and an unshared array).
 */
function transferC(
  engine: Engine,
  c: Float32Array,
  offC: number,
  m: number,
  n: number,
  toKernel: boolean,
): void {
  const { ctrl, f32, kernel } = engine;
  // Addresses past 2 GiB read back negative from the Int32Array: `>>> 0` makes them unsigned.
  const cBase = ctrl[C_BASE] >>> 0, ldc = ctrl[LDC] / 4, stage = ctrl[STAGE] >>> 0;
  const at = ldc === n ? cBase : stage;
  if (toKernel) {
    f32.set(c.subarray(offC, offC + m * n), at / 4);
    if (at === stage) kernel.copy(cBase, stage, m, n, ldc * 4, n * 4);
  } else {
    if (at === stage) kernel.copy(stage, cBase, m, n, n * 4, ldc * 4);
    c.set(f32.subarray(at / 4, at / 4 + m * n), offC);
  }
}

/** Settings of one WebAssembly GEMM call. */
export interface WasmGemmSettings {
  readonly relaxed: boolean;
  readonly threads: number;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly accumulate: boolean;
  readonly offsetA: number;
  readonly offsetB: number;
  readonly offsetC: number;
}

/**
 * `C = op(A)·op(B)` (or `+=`) with the WebAssembly kernels; `m`, `n`, `k` ≥ 1. Returns false, doing
 * nothing, when the operands do not fit in 4 GiB of kernel memory.
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
  let engine = engines.get(s.relaxed);
  if (!engine) engines.set(s.relaxed, engine = createEngine(s.relaxed));
  const ctrl = engine.ctrl;
  const dot = s.transposeB && !s.transposeA && k >= DOT_MIN_DEPTH_RATIO * (m + n);
  const ready = dot ? setUpDot(engine, m, n, k, a, b, s) : setUpPanels(engine, m, n, k, a, b, c, s);
  if (!ready) return false;
  const tasks = ctrl[TASKS] + (dot ? 0 : ctrl[PACK_TASKS]);
  const threads = engine.shared ? Math.min(s.threads, MAX_WORKERS + 1) : 1;
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
  if (callerRuns) runTasks(engine.kernel, ctrl, 0);
  for (let i = 0; i < helpers; i++) if (engine.workers[i].alive) collect(ctrl, i, !callerRuns);
  if (Atomics.exchange(ctrl, FAILED, 0) !== 0) {
    throw new Error(
      "Cannot multiply matrices: a GEMM worker thread failed; use setCpuThreads(1) to avoid workers",
    );
  }

  if (dot) sumPartials(engine, m, n, c, s);
  else transferC(engine, c, s.offsetC, m, n, false);
  return true;
}

/** Lays out a `PANELS` job: copies A, B (and C when accumulating) in, sets pack and compute tasks. */
function setUpPanels(
  engine: Engine,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  s: WasmGemmSettings,
): boolean {
  const { mr, nr, ctrl } = engine;
  const mPanels = Math.ceil(m / mr), nPanels = Math.ceil(n / nr);
  const ldc = nPanels * nr;
  // B is read in place when it is row-major and each of its panels serves few A panels (packing
  // would not pay) or has few depth steps (its rows stay in the TLB).
  const direct = !s.transposeB && (mPanels <= DIRECT_B_MAX_A_PANELS || k <= DIRECT_B_MAX_DEPTH);
  const rawA = CONTROL_BYTES, rawB = align(rawA + m * k * 4);
  // Slack past raw B: the last in-place panel reads up to nr − 1 floats past B's last row.
  const aBase = align(rawB + k * n * 4 + nr * 4);
  const bBase = direct ? rawB : align(aBase + mPanels * mr * k * 4);
  const cBase = align(direct ? aBase + mPanels * mr * k * 4 : bBase + nPanels * nr * k * 4);
  const stage = align(cBase + mPanels * mr * ldc * 4);
  if (!reserve(engine, ldc === n ? stage : stage + m * n * 4)) return false;
  const f32 = engine.f32;
  f32.set(a.subarray(s.offsetA, s.offsetA + m * k), rawA / 4);
  f32.set(b.subarray(s.offsetB, s.offsetB + k * n), rawB / 4);
  ctrl[C_BASE] = cBase;
  ctrl[LDC] = ldc * 4;
  ctrl[STAGE] = stage;
  if (s.accumulate) transferC(engine, c, s.offsetC, m, n, true);

  // Pack tasks of about PACK_FLOATS floats each.
  const chunkA = Math.max(1, Math.floor(PACK_FLOATS / (k * mr)));
  const chunkB = Math.max(1, Math.floor(PACK_FLOATS / (k * nr)));
  const packATasks = Math.ceil(mPanels / chunkA);
  ctrl[MODE] = PANELS;
  ctrl[RAW_A] = rawA;
  ctrl[RAW_B] = rawB;
  ctrl[M] = m;
  ctrl[N] = n;
  ctrl[A_STRIDE_W] = s.transposeA ? 4 : k * 4;
  ctrl[A_STRIDE_P] = s.transposeA ? m * 4 : 4;
  ctrl[B_STRIDE_W] = s.transposeB ? k * 4 : 4;
  ctrl[B_STRIDE_P] = s.transposeB ? 4 : n * 4;
  ctrl[PACK_A_TASKS] = packATasks;
  ctrl[PACK_TASKS] = packATasks + (direct ? 0 : Math.ceil(nPanels / chunkB));
  ctrl[PACK_CHUNK_A] = chunkA;
  ctrl[PACK_CHUNK_B] = chunkB;
  ctrl[PACKED] = 0;

  // Compute tasks: shrink the nominal task until every thread can get about four.
  const threads = engine.shared ? s.threads : 1;
  let taskM = Math.max(1, Math.round(TASK_ROWS / mr)), taskN = Math.max(1, Math.round(TASK_COLUMNS / nr));
  const tasksOf = () => Math.ceil(mPanels / taskM) * Math.ceil(nPanels / taskN);
  while (threads > 1 && tasksOf() < 4 * threads && (taskN > 1 || taskM > 1)) {
    if (taskN > 1 && Math.ceil(nPanels / taskN) <= Math.ceil(mPanels / taskM) * 2) {
      taskN = Math.ceil(taskN / 2);
    } else if (taskM > 1) taskM = Math.ceil(taskM / 2);
    else taskN = Math.ceil(taskN / 2);
  }
  ctrl[TASKS] = tasksOf();
  ctrl[TASKS_N] = Math.ceil(nPanels / taskN);
  ctrl[A_BASE] = aBase;
  ctrl[B_BASE] = bBase;
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
  const rawA = CONTROL_BYTES, rawB = align(rawA + mPad * k * 4);
  const partials = align(rawB + nPad * k * 4);
  if (!reserve(engine, partials + chunks * mPad * nPad * 4)) return false;
  const f32 = engine.f32;
  f32.set(a.subarray(s.offsetA, s.offsetA + m * k), rawA / 4);
  f32.fill(0, rawA / 4 + m * k, rawA / 4 + mPad * k);
  f32.set(b.subarray(s.offsetB, s.offsetB + n * k), rawB / 4);
  f32.fill(0, rawB / 4 + n * k, rawB / 4 + nPad * k);
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

/** C (=, or += when accumulating) the sum of a `DOT` job's partials. */
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
  const ready = engine.workers.filter((_, i) => Atomics.load(engine.ctrl, READY + i) === 1).length;
  const done = Array.from({ length: engine.workers.length + 1 }, (_, i) => engine.ctrl[DONE + i]);
  return { ready, done };
}

/** For tests: whether the caller claims tasks too (default true); returns the previous value. */
export function setCallerRunsTasks(value: boolean): boolean {
  const before = callerRunsTasks;
  callerRunsTasks = value;
  return before;
}
