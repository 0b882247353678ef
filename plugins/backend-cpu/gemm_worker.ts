/**
 * Worker entry of the threaded WebAssembly GEMM (started by `_gemm_wasm.ts`, never imported).
 *
 * It receives `{ module, memory, index }` — the compiled kernel, the shared memory and its mailbox
 * number — as `workerData` (a `node:worker_threads` worker, used where that module exists so that
 * an idle worker can be unref'd and never keeps a finished process alive) or as its first message
 * (a web worker), instantiates the kernel on the shared memory and serves jobs until told to quit.
 * @module
 */
import { CONTROL_BYTES, type KernelExports, serveJobs } from "./_gemm_tasks.ts";

interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly index: number;
}

function serve({ module, memory, index }: WorkerInit): void {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const ctrl = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
  serveJobs(instance.exports as unknown as KernelExports, ctrl, index);
}

// deno-lint-ignore no-explicit-any
const nodeProcess = (globalThis as any).process;
const workerData: WorkerInit | undefined = nodeProcess?.getBuiltinModule?.("node:worker_threads")?.workerData;
if (workerData) {
  serve(workerData);
} else {
  globalThis.addEventListener("message", (event) => {
    serve((event as MessageEvent<WorkerInit>).data);
    globalThis.close();
  }, { once: true });
}
