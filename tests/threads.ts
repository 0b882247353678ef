/**
 * For tests: the threads this process runs workers on, to check that a worker pool really ends its
 * threads. Linux only (it reads `/proc`); `workerThreadsKnown` says whether the count means anything.
 * @module
 */

/** Whether `workerThreads` can count here (Linux). */
export const workerThreadsKnown: boolean = Deno.build.os === "linux";

/** Threads of this process that Deno runs workers on (named `worker-N` in `/proc/self/task`). */
export function workerThreads(): number {
  return [...Deno.readDirSync("/proc/self/task")]
    .filter((task) => Deno.readTextFileSync(`/proc/self/task/${task.name}/comm`).startsWith("worker")).length;
}

/**
 * Polls `workerThreads` for up to `ms` milliseconds until it is at most `count`.
 *
 * @returns The last count read.
 */
export async function workerThreadsAtMost(count: number, ms = 2000): Promise<number> {
  let now = workerThreads();
  for (const deadline = performance.now() + ms; now > count && performance.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    now = workerThreads();
  }
  return now;
}
