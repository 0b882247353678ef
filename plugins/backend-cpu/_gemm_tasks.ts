/**
 * The part of the WebAssembly GEMM that the calling thread and the workers share: the control
 * block at the start of the shared memory and the loop that claims and runs tasks. Private.
 *
 * A job is one `gemm` call once its operands are copied into the shared memory, in one of two
 * modes (see `_gemm_kernel.ts` for the kernels):
 *
 * - `PANELS`: first pack tasks (a chunk of A or B panels each; B read in place needs none), then
 *   compute tasks: C, padded to whole tiles, cut into `taskM × taskN` panels. A thread that reaches
 *   the compute tasks waits until every pack task is done (`PACKED`). A compute task walks the
 *   depth in blocks of `KC` (the A block of a task stays in L2, a B panel in L1) and calls the
 *   kernel's `block` once per depth block.
 * - `DOT` (A·Bᵀ with a long depth): task t runs `dot` over depth chunk t into its own partial C;
 *   the caller adds the partials up.
 *
 * Every thread taking part claims tasks with `Atomics.add` on `NEXT` until none are left, so a
 * core slowed by other work simply takes fewer. Each worker has a mailbox word: `IDLE` → (caller)
 * `POSTED` → (worker, compare-exchange) `RUNNING` → (worker, when no task is left) `IDLE`. When
 * the caller runs out of tasks it takes back posts that no worker accepted yet (`POSTED` → `IDLE`)
 * and waits only for `RUNNING` ones, so a worker that is slow to wake never delays a call. `QUIT`
 * ends a worker.
 * @module
 */

/** Control words (Int32 indices) at byte 0 of the shared memory. */
export const NEXT = 0,
  MODE = 1,
  TASKS = 2,
  K = 3,
  /** PANELS: packed (or in-place) operands and C; DOT: raw A and B, and the partials. */
  A_BASE = 4,
  B_BASE = 5,
  C_BASE = 6,
  /** PANELS: depth block; DOT: depth chunk of a task. */
  KC = 7,
  /** PANELS: panels; DOT: tiles. */
  M_PANELS = 8,
  N_PANELS = 9,
  LDC = 10,
  TASKS_N = 11,
  TASK_M = 12,
  TASK_N = 13,
  ACCUMULATE = 14,
  LAST_ROWS = 15,
  MR = 16,
  NR = 17,
  LDB = 18,
  BP_STRIDE = 19,
  RAW_A = 20,
  RAW_B = 21,
  M = 22,
  N = 23,
  A_STRIDE_W = 24,
  A_STRIDE_P = 25,
  B_STRIDE_W = 26,
  B_STRIDE_P = 27,
  PACK_A_TASKS = 28,
  PACK_TASKS = 29,
  PACK_CHUNK_A = 30,
  PACK_CHUNK_B = 31,
  PACKED = 32,
  /** DOT: bytes between partials. */
  PARTIAL_STRIDE = 33,
  /** PANELS: room for C `[m, n]` without padding, to copy C through. */
  STAGE = 34,
  /** Set to 1 by a worker whose tasks threw (a bug: the caller then throws too). */
  FAILED = 35;
/** Job modes. */
export const PANELS = 0, DOT = 1;
/** Most workers the control block has mailboxes for. */
export const MAX_WORKERS = 64;
/** Mailbox of worker `i` is word `MAILBOX + i`. */
export const MAILBOX = 64;
/** Word `READY + i` becomes 1 once worker `i` serves jobs. */
export const READY = MAILBOX + MAX_WORKERS;
/** Word `DONE + slot` counts the tasks run by the caller (slot 0) and worker `i` (slot `i + 1`). */
export const DONE = READY + MAX_WORKERS;
/** Bytes reserved for the control block; operands start here. */
export const CONTROL_BYTES = 4096;

/** Mailbox states. */
export const IDLE = 0, POSTED = 1, RUNNING = 2, QUIT = 3;

/** The exports of a kernel instance that tasks call (see `_gemm_kernel.ts`). */
export interface KernelExports {
  block(
    ap: number,
    bp: number,
    c: number,
    mPanels: number,
    nPanels: number,
    kc: number,
    apStride: number,
    bpStride: number,
    ldc: number,
    acc: number,
    lastRows: number,
    ldb: number,
  ): void;
  packA(
    dst: number,
    src: number,
    p0: number,
    p1: number,
    count: number,
    k: number,
    sw: number,
    sp: number,
  ): void;
  packB(
    dst: number,
    src: number,
    p0: number,
    p1: number,
    count: number,
    k: number,
    sw: number,
    sp: number,
  ): void;
  dot(
    a: number,
    b: number,
    c: number,
    mTiles: number,
    nTiles: number,
    kc: number,
    lda: number,
    ldb: number,
    ldc: number,
  ): void;
  copy(dst: number, src: number, rows: number, cols: number, ldDst: number, ldSrc: number): void;
}

/** Runs pack task `t`: a chunk of A panels, or of B panels. */
function runPackTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const k = ctrl[K];
  if (t < ctrl[PACK_A_TASKS]) {
    const chunk = ctrl[PACK_CHUNK_A], p0 = t * chunk;
    const p1 = Math.min(ctrl[M_PANELS], p0 + chunk);
    kernel.packA(ctrl[A_BASE], ctrl[RAW_A], p0, p1, ctrl[M], k, ctrl[A_STRIDE_W], ctrl[A_STRIDE_P]);
  } else {
    const chunk = ctrl[PACK_CHUNK_B], p0 = (t - ctrl[PACK_A_TASKS]) * chunk;
    const p1 = Math.min(ctrl[N_PANELS], p0 + chunk);
    kernel.packB(ctrl[B_BASE], ctrl[RAW_B], p0, p1, ctrl[N], k, ctrl[B_STRIDE_W], ctrl[B_STRIDE_P]);
  }
}

/** Whether `Atomics.wait` may block this thread (not on a browser's main thread). */
let canWait = true;

/** Waits until every pack task is done (spinning briefly, then in `Atomics.wait` where allowed). */
function awaitPacking(ctrl: Int32Array, packTasks: number): void {
  for (let spin = 0;; spin++) {
    const packed = Atomics.load(ctrl, PACKED);
    if (packed >= packTasks) return;
    if (spin > 1000 && canWait) {
      try {
        Atomics.wait(ctrl, PACKED, packed, 1);
      } catch {
        canWait = false;
      }
    }
  }
}

/** Runs compute task `t` of a `PANELS` job. */
function runPanelTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const tasksN = ctrl[TASKS_N], k = ctrl[K], kcMax = ctrl[KC], mr = ctrl[MR], nr = ctrl[NR];
  const mPanels = ctrl[M_PANELS], nPanels = ctrl[N_PANELS], taskM = ctrl[TASK_M], taskN = ctrl[TASK_N];
  const ldc = ctrl[LDC], ldb = ctrl[LDB], bpStride = ctrl[BP_STRIDE], apStride = k * mr * 4;
  const tm = Math.floor(t / tasksN), tn = t - tm * tasksN;
  const p0 = tm * taskM, p1 = Math.min(mPanels, p0 + taskM);
  const q0 = tn * taskN, q1 = Math.min(nPanels, q0 + taskN);
  const last = p1 === mPanels ? ctrl[LAST_ROWS] : mr;
  const a = ctrl[A_BASE] + p0 * apStride, b = ctrl[B_BASE] + q0 * bpStride;
  const c = ctrl[C_BASE] + p0 * mr * ldc + q0 * nr * 4;
  for (let pc = 0; pc < k; pc += kcMax) {
    const acc = pc > 0 || ctrl[ACCUMULATE] ? 1 : 0;
    const kc = Math.min(kcMax, k - pc);
    kernel.block(
      a + pc * mr * 4,
      b + pc * ldb,
      c,
      p1 - p0,
      q1 - q0,
      kc,
      apStride,
      bpStride,
      ldc,
      acc,
      last,
      ldb,
    );
  }
}

/** Runs task `t` of a `DOT` job: depth chunk t into partial t. */
function runDotTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const k = ctrl[K], chunk = ctrl[KC], p0 = t * chunk;
  kernel.dot(
    ctrl[A_BASE] + p0 * 4,
    ctrl[B_BASE] + p0 * 4,
    ctrl[C_BASE] + t * ctrl[PARTIAL_STRIDE],
    ctrl[M_PANELS],
    ctrl[N_PANELS],
    Math.min(chunk, k - p0),
    k * 4,
    k * 4,
    ctrl[LDC],
  );
}

/** Claims and runs tasks of the current job until none is left; `slot` names the thread in `DONE`. */
export function runTasks(kernel: KernelExports, ctrl: Int32Array, slot: number): void {
  const dot = ctrl[MODE] === DOT, packTasks = dot ? 0 : ctrl[PACK_TASKS];
  const tasks = packTasks + ctrl[TASKS];
  let packed = packTasks === 0;
  for (;;) {
    const t = Atomics.add(ctrl, NEXT, 1);
    if (t >= tasks) return;
    ctrl[DONE + slot]++;
    if (dot) {
      runDotTask(kernel, ctrl, t);
    } else if (t < packTasks) {
      runPackTask(kernel, ctrl, t);
      if (Atomics.add(ctrl, PACKED, 1) === packTasks - 1) Atomics.notify(ctrl, PACKED);
    } else {
      if (!packed) awaitPacking(ctrl, packTasks);
      packed = true;
      runPanelTask(kernel, ctrl, t - packTasks);
    }
  }
}

/** A worker's loop: wait for a post, accept it, run tasks, report idle; until `QUIT`. */
export function serveJobs(kernel: KernelExports, ctrl: Int32Array, index: number): void {
  const mail = MAILBOX + index;
  Atomics.store(ctrl, READY + index, 1);
  for (;;) {
    Atomics.wait(ctrl, mail, IDLE);
    const state = Atomics.load(ctrl, mail);
    if (state === QUIT) return;
    if (state === POSTED && Atomics.compareExchange(ctrl, mail, POSTED, RUNNING) === POSTED) {
      try {
        runTasks(kernel, ctrl, index + 1);
      } catch {
        Atomics.store(ctrl, FAILED, 1);
      }
      Atomics.store(ctrl, mail, IDLE);
      Atomics.notify(ctrl, mail);
    }
  }
}
