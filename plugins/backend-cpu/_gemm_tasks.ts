/**
 * The part of the WebAssembly GEMM that the calling thread and the workers share: the control
 * block at the start of the shared memory and the loop that claims and runs tasks. Private.
 *
 * A job is one `gemm` call once its operands are copied into the shared memory, in one of two
 * modes (see `_gemm_kernel.ts` for the kernels):
 *
 * - `PANELS`: `BATCH` independent products of one shape (one `gemm` call with `batch`), each
 *   with `PACK_TASKS_EACH` pack tasks (a chunk of its A or B panels each; B read in place needs
 *   none) and `TASKS_EACH` compute tasks (its C, padded to whole tiles, cut into `taskM × taskN`
 *   panels). A compute task walks the depth in blocks of `KC` (the A block of a task stays in L2, a
 *   B panel in L1) and calls the kernel's `block` once per depth block. Tasks are numbered product
 *   by product, each product's packing one product ahead: pack 0, pack 1, compute 0, pack 2,
 *   compute 1, …, compute `BATCH` − 1; so any thread takes any task of any product, and the
 *   threads share even a batch of small products. Product i packs into slot `i mod SLOTS` of a ring
 *   of packed-panel buffers (a few MiB in all, so that packed panels are still cached when
 *   computed): slot s holds A panels at `A_BASE + s·A_STEP` and B panels at `B_BASE + s·B_STEP`
 *   (B read in place: product i's raw B). Word `PACKED_SLOTS + s` counts the pack tasks done in
 *   slot s and `COMPUTED_SLOTS + s` the compute tasks, over the products that used it: a compute
 *   task waits until its product's panels are packed, a pack task until the slot's previous
 *   product is computed. With at least 2 slots a task waits only on tasks numbered before it, so
 *   the job cannot deadlock; a thread whose task throws sets `FAILED`, which ends the waits.
 *   Product i's raw operands start at `RAW_A` / `RAW_B` plus i times `RAW_A_STEP` / `RAW_B_STEP`,
 *   its C at `C_BASE + i·C_STEP` (all in bytes). With A packed once before the job (`packGemmA`
 *   and `gemmPacked` of `gemm.ts`) a product has no pack-A tasks and reads its A panels at
 *   `A_BASE + i·PREPACKED_A_STEP` (then `A_STEP` is 0; the slots hold B panels only, and with B
 *   read in place a product has no pack tasks at all).
 * - `DOT` (A·Bᵀ with a long depth): task t runs `dot` over depth chunk t into its own partial C;
 *   the caller adds the partials up.
 * - `UNFOLD` / `FOLD` (im2col / col2im): task t runs `unfold` / `fold` on a chunk of zero-padded
 *   image planes (image b, channel c); plane (b, c) owns cols rows `c·kh·kw …` at columns
 *   `b·oh·ow …`, so tasks never write the same value. With padding, a task first copies its
 *   unpadded planes into the (zeroed) padded ones (UNFOLD), or copies the folded interiors out
 *   after folding (FOLD).
 * - `ROWS` (at most `GEMV_MAX_ROWS` rows of A times a row-major B, e.g. a dense layer at batch 1):
 *   task t runs `rowsTimes${M}` over depth chunk t (`KC` steps), streaming B's rows, into its own
 *   zeroed partial C (`PARTIAL_STRIDE` bytes apart); the caller adds the partials up. A's rows are
 *   `A_STRIDE_W` bytes apart, B's `LDB`.
 * - `CONV_ROWS` (a stride-1 convolution with vectors along output columns, `convRows` of
 *   `_conv_rows_kernel.ts`): pad tasks as for `CONV`, then compute tasks of `POS_CHUNK` output rows
 *   of one image each. Words: `IMG_BASE`, `IMG_PLANE`, `CHANNELS`, `LD_PADDED` (the padded images),
 *   `KH`, `KW`, `TAP_Y` / `TAP_X` (dilations), `WPACK` (OIHW weights), `C_BASE` (bias, or 0),
 *   `ACCUMULATE` (1: ReLU), `Y_BASE` and `LDB` (outputs and bytes between images), `LD_COLS` and
 *   `PLANE_OUT` (bytes between output rows and planes), `OH`, `OW` (output columns), `OG`
 *   (filters), `CHUNKS_PER_IMAGE`.
 * - `POOL` (max pooling without padding, `maxPool` of `_simd_kernels.ts`): task t pools planes
 *   `[t·PLANE_CHUNK, …)` of `PLANES`, from `IMG_BASE` (planes `HEIGHT × WIDTH`) to `Y_BASE` (planes
 *   `OH × OW`), windows `KH × KW` at strides `TAP_Y`, `TAP_X`.
 * - `CONV` (convolution without im2col): first pad tasks (a chunk of image planes copied into the
 *   interiors of zeroed padded planes; none without padding), then compute tasks: `conv` over a
 *   chunk of one image's output positions.
 *
 * Every thread taking part claims tasks with `Atomics.add` on `NEXT` until none are left, so a
 * core slowed by other work simply takes fewer. Each worker has a mailbox word: `IDLE` → (caller)
 * `POSTED` → (worker, compare-exchange) `RUNNING` → (worker, when no task is left) `IDLE`; an idle
 * worker reads its mailbox `SPIN_READS` times before it sleeps in `Atomics.wait`. When
 * the caller runs out of tasks it takes back posts that no worker accepted yet (`POSTED` → `IDLE`)
 * and waits only for `RUNNING` ones, so a worker that is slow to wake never delays a call. `QUIT`
 * ends a worker: it sets its `READY` word to `LEFT` and returns, so that its thread can end (a
 * worker parked in `Atomics.wait` is not ended by `terminate()` in Deno, and one still parked when
 * the process exits is torn down under its feet).
 * @module
 */

import type { SimdExports } from "./_simd_kernels.ts";

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
  FAILED = 35,
  /** UNFOLD / FOLD: image planes in all, planes per task, channels per image. */
  PLANES = 36,
  PLANE_CHUNK = 37,
  CHANNELS = 38,
  /** UNFOLD / FOLD: first padded plane, bytes per padded plane, cols. */
  IMG_BASE = 39,
  IMG_PLANE = 40,
  COLS_BASE = 41,
  /** UNFOLD / FOLD: the arguments of the kernel's `unfold` (see `_gemm_kernel.ts`). */
  KH = 42,
  KW = 43,
  OH = 44,
  OW = 45,
  TAP_Y = 46,
  TAP_X = 47,
  ROW_STEP = 48,
  COL_STEP = 49,
  LD_COLS = 50,
  /**
   * UNFOLD / FOLD with padding (else 0): the unpadded planes `[planes, height, width]`, which a task
   * copies into (UNFOLD) or out of (FOLD) the interiors of its padded planes; then plane size, the
   * byte offset of the interior in a padded plane and the bytes per padded row.
   */
  RAW_BASE = 51,
  HEIGHT = 52,
  WIDTH = 53,
  INTERIOR = 54,
  LD_PADDED = 55,
  /**
   * CONV: tap offsets, panel-major weights, outputs `[images, og, plane]`, positions per task,
   * tasks per image, output positions per image, weight panels, output channels.
   */
  OFFS = 56,
  WPACK = 57,
  Y_BASE = 58,
  POS_CHUNK = 59,
  CHUNKS_PER_IMAGE = 60,
  PLANE_OUT = 61,
  CONV_PANELS = 62,
  OG = 63;
/**
 * Job modes: GEMM on packed panels, GEMM of dot products, im2col, col2im, implicit-GEMM convolution
 * and its filter gradient. `CONV_GRAD` reuses words of the other modes: `IMG_BASE`, `IMG_PLANE`,
 * `CHANNELS`, the pad words and `OFFS` as `CONV` does; `Y_BASE`: dy `[images, og, plane]`; `WPACK`:
 * the partial sums, `PARTIAL_STRIDE` bytes apart, rows `LD_COLS` bytes long; `POS_CHUNK`: images per
 * task; `M`: images; `M_PANELS` / `N_PANELS`: filter and tap tiles; `OH`, `OW`, `ROW_STEP`,
 * `PLANE_OUT`, `OG`.
 */
export const PANELS = 0,
  DOT = 1,
  UNFOLD = 2,
  FOLD = 3,
  CONV = 4,
  CONV_GRAD = 5,
  ROWS = 6,
  CONV_ROWS = 7,
  POOL = 8;
/** Most workers the control block has mailboxes for. */
export const MAX_WORKERS = 64;
/** Mailbox of worker `i` is word `MAILBOX + i`. */
export const MAILBOX = 64;
/** Word `READY + i`: `SERVING` once worker `i` serves jobs, `LEFT` once it has quit. */
export const READY = MAILBOX + MAX_WORKERS;
/** States of a `READY` word (0: not started yet). */
export const SERVING = 1, LEFT = 2;
/** Word `DONE + slot` counts the tasks run by the caller (slot 0) and worker `i` (slot `i + 1`). */
export const DONE = READY + MAX_WORKERS;
/** Bytes reserved for the control block; operands start here. */
export const CONTROL_BYTES = 4096;

/** Most packing slots of a `PANELS` job. */
export const MAX_SLOTS = 64;
/**
 * PANELS, past the `DONE` counters: the products of the job; the bytes between consecutive
 * products' raw A and raw B, between slots' packed A and B panels, and between products' C; the
 * pack and compute tasks per product; the slots; and the counters of each slot.
 */
export const BATCH = DONE + MAX_WORKERS + 1,
  RAW_A_STEP = BATCH + 1,
  RAW_B_STEP = BATCH + 2,
  A_STEP = BATCH + 3,
  B_STEP = BATCH + 4,
  C_STEP = BATCH + 5,
  PACK_TASKS_EACH = BATCH + 6,
  TASKS_EACH = BATCH + 7,
  SLOTS = BATCH + 8,
  PACKED_SLOTS = BATCH + 9,
  COMPUTED_SLOTS = PACKED_SLOTS + MAX_SLOTS,
  /**
   * PANELS with A packed before the job (`gemmPacked`): bytes between consecutive products' A
   * panels from `A_BASE` (then `PACK_A_TASKS` and `A_STEP` are 0); 0 when A is packed into slots.
   */
  PREPACKED_A_STEP = COMPUTED_SLOTS + MAX_SLOTS;
/**
 * Reads of its mailbox a worker spins through before it sleeps (set by the caller's side; 0: none).
 * A few tens of microseconds of spinning catch the next job of a forward pass, the next layer's,
 * without the wake-up from `Atomics.wait`, which costs tens of microseconds itself.
 */
export const SPIN_READS = PREPACKED_A_STEP + 1;
/** The default of `SPIN_READS`: about 30–60 µs on x86-64. */
export const DEFAULT_SPIN_READS = 1 << 14;

/** Mailbox states. */
export const IDLE = 0, POSTED = 1, RUNNING = 2, QUIT = 3;

/** The exports of a kernel instance that tasks call (see `_gemm_kernel.ts`). */
export interface KernelExports extends SimdExports {
  /** `convRows` of `_conv_rows_kernel.ts`. */
  convRows(
    img: number,
    w: number,
    bias: number,
    y: number,
    channels: number,
    kh: number,
    kw: number,
    dh: number,
    dw: number,
    ldImg: number,
    imgPlane: number,
    oy0: number,
    oy1: number,
    ow: number,
    filters: number,
    ldY: number,
    yPlane: number,
    relu: number,
  ): void;
  /** `rowsTimes${rows}(a, lda, b, ldb, y, n, k)` of `_gemv_kernel.ts`, rows 1 to 4. */
  rowsTimes1(a: number, lda: number, b: number, ldb: number, y: number, n: number, k: number): void;
  rowsTimes2(a: number, lda: number, b: number, ldb: number, y: number, n: number, k: number): void;
  rowsTimes3(a: number, lda: number, b: number, ldb: number, y: number, n: number, k: number): void;
  rowsTimes4(a: number, lda: number, b: number, ldb: number, y: number, n: number, k: number): void;
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
  unfold(
    img: number,
    cols: number,
    kh: number,
    kw: number,
    oh: number,
    ow: number,
    tapY: number,
    tapX: number,
    rowStep: number,
    colStep: number,
    ldCols: number,
  ): void;
  convGrad(
    img: number,
    offs: number,
    dy: number,
    part: number,
    images: number,
    imgStride: number,
    dyStride: number,
    rTiles: number,
    cTiles: number,
    oh: number,
    ow: number,
    rowStep: number,
    plane: number,
    ldPart: number,
  ): void;
  conv(
    img: number,
    offs: number,
    wp: number,
    y: number,
    p0: number,
    p1: number,
    k: number,
    plane: number,
    ow: number,
    colStep: number,
    rowStep: number,
    panels: number,
    og: number,
  ): void;
  fold(
    img: number,
    cols: number,
    kh: number,
    kw: number,
    oh: number,
    ow: number,
    tapY: number,
    tapX: number,
    rowStep: number,
    colStep: number,
    ldCols: number,
  ): void;
}

/** Runs pad task `t` of a `CONV` job: copies a chunk of planes into their padded interiors. */
function runPadTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const chunk = ctrl[PLANE_CHUNK], h = ctrl[HEIGHT], w = ctrl[WIDTH], imgPlane = ctrl[IMG_PLANE];
  const img = (ctrl[IMG_BASE] >>> 0) + ctrl[INTERIOR], raw = ctrl[RAW_BASE] >>> 0, ld = ctrl[LD_PADDED];
  const end = Math.min(ctrl[PLANES], (t + 1) * chunk);
  for (let i = t * chunk; i < end; i++) kernel.copy(img + i * imgPlane, raw + i * h * w * 4, h, w, ld, w * 4);
}

/** Runs compute task `t` of a `CONV` job: a chunk of one image's output positions. */
function runConvTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const perImage = ctrl[CHUNKS_PER_IMAGE], b = Math.floor(t / perImage), c = t - b * perImage;
  const plane = ctrl[PLANE_OUT], chunk = ctrl[POS_CHUNK], og = ctrl[OG];
  const p0 = c * chunk, p1 = Math.min(plane, p0 + chunk);
  kernel.conv(
    (ctrl[IMG_BASE] >>> 0) + b * ctrl[CHANNELS] * ctrl[IMG_PLANE],
    ctrl[OFFS],
    ctrl[WPACK],
    (ctrl[Y_BASE] >>> 0) + b * og * plane * 4,
    p0,
    p1,
    ctrl[K],
    plane,
    ctrl[OW],
    ctrl[COL_STEP],
    ctrl[ROW_STEP],
    ctrl[CONV_PANELS],
    og,
  );
}

/** Runs compute task `t` of a `CONV_ROWS` job: a chunk of one image's output rows. */
function runConvRowsTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const perImage = ctrl[CHUNKS_PER_IMAGE], b = Math.floor(t / perImage), c = t - b * perImage;
  const chunk = ctrl[POS_CHUNK], oy0 = c * chunk, oy1 = Math.min(ctrl[OH], oy0 + chunk);
  const channels = ctrl[CHANNELS], imgPlane = ctrl[IMG_PLANE];
  kernel.convRows(
    (ctrl[IMG_BASE] >>> 0) + b * channels * imgPlane,
    ctrl[WPACK],
    ctrl[C_BASE],
    (ctrl[Y_BASE] >>> 0) + b * ctrl[LDB],
    channels,
    ctrl[KH],
    ctrl[KW],
    ctrl[TAP_Y],
    ctrl[TAP_X],
    ctrl[LD_PADDED],
    imgPlane,
    oy0,
    oy1,
    ctrl[OW],
    ctrl[OG],
    ctrl[LD_COLS],
    ctrl[PLANE_OUT],
    ctrl[ACCUMULATE],
  );
}

/** Runs compute task `t` of a `CONV_GRAD` job: a chunk of images into partial sums `t`. */
function runConvGradTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const chunk = ctrl[POS_CHUNK], b0 = t * chunk, images = Math.min(ctrl[M], b0 + chunk) - b0;
  const imgStride = ctrl[CHANNELS] * ctrl[IMG_PLANE],
    plane = ctrl[PLANE_OUT],
    dyStride = ctrl[OG] * plane * 4;
  kernel.convGrad(
    (ctrl[IMG_BASE] >>> 0) + b0 * imgStride,
    ctrl[OFFS],
    (ctrl[Y_BASE] >>> 0) + b0 * dyStride,
    (ctrl[WPACK] >>> 0) + t * ctrl[PARTIAL_STRIDE],
    images,
    imgStride,
    dyStride,
    ctrl[M_PANELS],
    ctrl[N_PANELS],
    ctrl[OH],
    ctrl[OW],
    ctrl[ROW_STEP],
    plane,
    ctrl[LD_COLS],
  );
}

/** Runs task `t` of a `POOL` job: a chunk of planes. */
function runPoolTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const p0 = t * ctrl[PLANE_CHUNK], planes = Math.min(ctrl[PLANE_CHUNK], ctrl[PLANES] - p0);
  const h = ctrl[HEIGHT], w = ctrl[WIDTH], oh = ctrl[OH], ow = ctrl[OW];
  kernel.maxPool(
    (ctrl[IMG_BASE] >>> 0) + p0 * h * w * 4,
    (ctrl[Y_BASE] >>> 0) + p0 * oh * ow * 4,
    planes,
    h,
    w,
    oh,
    ow,
    ctrl[KH],
    ctrl[KW],
    ctrl[TAP_Y],
    ctrl[TAP_X],
  );
}

/** Runs task `t` of an `UNFOLD` or `FOLD` job: a chunk of image planes. */
function runPlaneTask(kernel: KernelExports, ctrl: Int32Array, t: number, fold: boolean): void {
  const chunk = ctrl[PLANE_CHUNK], channels = ctrl[CHANNELS], kh = ctrl[KH], kw = ctrl[KW];
  const oh = ctrl[OH], ow = ctrl[OW], ldCols = ctrl[LD_COLS], imgPlane = ctrl[IMG_PLANE];
  const tapY = ctrl[TAP_Y], tapX = ctrl[TAP_X], rowStep = ctrl[ROW_STEP], colStep = ctrl[COL_STEP];
  const imgBase = ctrl[IMG_BASE] >>> 0, colsBase = ctrl[COLS_BASE] >>> 0;
  const raw = ctrl[RAW_BASE] >>> 0, h = ctrl[HEIGHT], w = ctrl[WIDTH], interior = ctrl[INTERIOR];
  const ldPadded = ctrl[LD_PADDED];
  const end = Math.min(ctrl[PLANES], (t + 1) * chunk);
  for (let i = t * chunk; i < end; i++) {
    const b = Math.floor(i / channels), c = i - b * channels;
    const img = imgBase + i * imgPlane, cols = colsBase + c * kh * kw * ldCols + b * oh * ow * 4;
    if (fold) {
      kernel.fold(img, cols, kh, kw, oh, ow, tapY, tapX, rowStep, colStep, ldCols);
      if (raw !== 0) kernel.copy(raw + i * h * w * 4, img + interior, h, w, w * 4, ldPadded);
    } else {
      if (raw !== 0) kernel.copy(img + interior, raw + i * h * w * 4, h, w, ldPadded, w * 4);
      kernel.unfold(img, cols, kh, kw, oh, ow, tapY, tapX, rowStep, colStep, ldCols);
    }
  }
}

/** Runs pack task `u` of product `i` of a `PANELS` job (into `slot`): a chunk of its A or B panels. */
function runPackTask(kernel: KernelExports, ctrl: Int32Array, i: number, slot: number, u: number): void {
  const k = ctrl[K];
  // Addresses past 2 GiB read back negative from the Int32Array: `>>> 0` makes them unsigned.
  if (u < ctrl[PACK_A_TASKS]) {
    const chunk = ctrl[PACK_CHUNK_A], p0 = u * chunk;
    const p1 = Math.min(ctrl[M_PANELS], p0 + chunk);
    const dst = (ctrl[A_BASE] >>> 0) + slot * (ctrl[A_STEP] >>> 0);
    const src = (ctrl[RAW_A] >>> 0) + i * (ctrl[RAW_A_STEP] >>> 0);
    kernel.packA(dst, src, p0, p1, ctrl[M], k, ctrl[A_STRIDE_W], ctrl[A_STRIDE_P]);
  } else {
    const chunk = ctrl[PACK_CHUNK_B], p0 = (u - ctrl[PACK_A_TASKS]) * chunk;
    const p1 = Math.min(ctrl[N_PANELS], p0 + chunk);
    const dst = (ctrl[B_BASE] >>> 0) + slot * (ctrl[B_STEP] >>> 0);
    const src = (ctrl[RAW_B] >>> 0) + i * (ctrl[RAW_B_STEP] >>> 0);
    kernel.packB(dst, src, p0, p1, ctrl[N], k, ctrl[B_STRIDE_W], ctrl[B_STRIDE_P]);
  }
}

/** Whether `Atomics.wait` may block this thread (not on a browser's main thread). */
let canWait = true;

/**
 * Waits until word `word` reaches `target` (spinning briefly, then in `Atomics.wait` where allowed).
 *
 * @throws {Error} If another thread's task failed (it will never count).
 */
function awaitCount(ctrl: Int32Array, word: number, target: number): void {
  for (let spin = 0;; spin++) {
    const count = Atomics.load(ctrl, word);
    if (count >= target) return;
    if (spin > 1000) {
      if (Atomics.load(ctrl, FAILED) !== 0) throw new Error("Cannot run a GEMM task: another thread failed");
      if (!canWait) continue;
      try {
        Atomics.wait(ctrl, word, count, 1);
      } catch {
        canWait = false;
      }
    }
  }
}

/** Adds a finished task to word `word`, waking the threads waiting for `target` when it is reached. */
function countDone(ctrl: Int32Array, word: number, target: number): void {
  if (Atomics.add(ctrl, word, 1) === target - 1) Atomics.notify(ctrl, word);
}

/** Runs task `t` of a `PANELS` job, in the order and with the waits of the module docs. */
function runPanelsTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const batch = ctrl[BATCH], packs = ctrl[PACK_TASKS_EACH], computes = ctrl[TASKS_EACH];
  // Product i, its task u, and whether a pack task: product 0's packing, then per product j its
  // successor's packing (none after the last) and its computing.
  let i = 0, u = t, pack = t < packs;
  if (!pack) {
    const j = Math.floor((t - packs) / (packs + computes)), r = t - packs - j * (packs + computes);
    const ahead = j + 1 < batch;
    pack = ahead && r < packs;
    i = pack ? j + 1 : j;
    u = ahead && !pack ? r - packs : r;
  }
  const slots = ctrl[SLOTS], slot = i % slots, round = Math.floor(i / slots);
  if (pack) {
    if (round > 0) awaitCount(ctrl, COMPUTED_SLOTS + slot, round * computes);
    runPackTask(kernel, ctrl, i, slot, u);
    countDone(ctrl, PACKED_SLOTS + slot, (round + 1) * packs);
  } else {
    awaitCount(ctrl, PACKED_SLOTS + slot, (round + 1) * packs);
    runPanelTask(kernel, ctrl, i, slot, u);
    countDone(ctrl, COMPUTED_SLOTS + slot, (round + 1) * computes);
  }
}

/**
 * Runs compute task `u` of product `i` of a `PANELS` job (its panels in `slot`): a `taskM × taskN`
 * block of panels of its C.
 */
function runPanelTask(kernel: KernelExports, ctrl: Int32Array, i: number, slot: number, u: number): void {
  const tasksN = ctrl[TASKS_N], k = ctrl[K], kcMax = ctrl[KC], mr = ctrl[MR], nr = ctrl[NR];
  const mPanels = ctrl[M_PANELS], nPanels = ctrl[N_PANELS], taskM = ctrl[TASK_M], taskN = ctrl[TASK_N];
  const ldc = ctrl[LDC], ldb = ctrl[LDB], bpStride = ctrl[BP_STRIDE], apStride = k * mr * 4;
  const tm = Math.floor(u / tasksN), tn = u - tm * tasksN;
  const p0 = tm * taskM, p1 = Math.min(mPanels, p0 + taskM);
  const q0 = tn * taskN, q1 = Math.min(nPanels, q0 + taskN);
  const last = p1 === mPanels ? ctrl[LAST_ROWS] : mr;
  // B is read in place (product i's raw B) when it has no pack tasks.
  const packedB = ctrl[PACK_TASKS_EACH] > ctrl[PACK_A_TASKS];
  const a = (ctrl[A_BASE] >>> 0) + slot * (ctrl[A_STEP] >>> 0) + i * (ctrl[PREPACKED_A_STEP] >>> 0) +
    p0 * apStride;
  const b = q0 * bpStride +
    (packedB
      ? (ctrl[B_BASE] >>> 0) + slot * (ctrl[B_STEP] >>> 0)
      : (ctrl[RAW_B] >>> 0) + i * (ctrl[RAW_B_STEP] >>> 0));
  const c = (ctrl[C_BASE] >>> 0) + i * (ctrl[C_STEP] >>> 0) + p0 * mr * ldc + q0 * nr * 4;
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

/** A `ROWS` task: depth chunk t of `M` rows of A times B into partial t. */
function runRowsTask(kernel: KernelExports, ctrl: Int32Array, t: number): void {
  const k = ctrl[K], chunk = ctrl[KC], p0 = t * chunk, ldb = ctrl[LDB];
  kernel[`rowsTimes${ctrl[M]}` as "rowsTimes1"](
    (ctrl[A_BASE] >>> 0) + p0 * 4,
    ctrl[A_STRIDE_W],
    (ctrl[B_BASE] >>> 0) + p0 * ldb,
    ldb,
    (ctrl[C_BASE] >>> 0) + t * ctrl[PARTIAL_STRIDE],
    ctrl[N],
    Math.min(chunk, k - p0),
  );
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
  const mode = ctrl[MODE], dot = mode === DOT, planes = mode === UNFOLD || mode === FOLD;
  const rows = mode === CONV_ROWS;
  const conv = mode === CONV || mode === CONV_GRAD || rows, grad = mode === CONV_GRAD;
  const packTasks = mode === PANELS || conv ? ctrl[PACK_TASKS] : 0;
  const tasks = packTasks + ctrl[TASKS];
  let packed = packTasks === 0;
  for (;;) {
    const t = Atomics.add(ctrl, NEXT, 1);
    if (t >= tasks) return;
    ctrl[DONE + slot]++;
    if (planes) {
      runPlaneTask(kernel, ctrl, t, mode === FOLD);
    } else if (mode === POOL) {
      runPoolTask(kernel, ctrl, t);
    } else if (dot) {
      runDotTask(kernel, ctrl, t);
    } else if (mode === ROWS) {
      runRowsTask(kernel, ctrl, t);
    } else if (mode === PANELS) {
      runPanelsTask(kernel, ctrl, t);
    } else if (t < packTasks) {
      runPadTask(kernel, ctrl, t);
      countDone(ctrl, PACKED, packTasks);
    } else {
      if (!packed) awaitCount(ctrl, PACKED, packTasks);
      packed = true;
      if (rows) runConvRowsTask(kernel, ctrl, t - packTasks);
      else if (grad) runConvGradTask(kernel, ctrl, t - packTasks);
      else runConvTask(kernel, ctrl, t - packTasks);
    }
  }
}

/** A worker's loop: wait for a post (spinning a little first), accept it, run tasks, report idle; until `QUIT`. */
export function serveJobs(kernel: KernelExports, ctrl: Int32Array, index: number): void {
  const mail = MAILBOX + index;
  Atomics.store(ctrl, READY + index, SERVING);
  for (;;) {
    for (
      let spin = 0, n = Atomics.load(ctrl, SPIN_READS);
      spin < n && Atomics.load(ctrl, mail) === IDLE;
      spin++
    );
    Atomics.wait(ctrl, mail, IDLE);
    const state = Atomics.load(ctrl, mail);
    if (state === QUIT) {
      Atomics.store(ctrl, READY + index, LEFT);
      Atomics.notify(ctrl, READY + index);
      return;
    }
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
