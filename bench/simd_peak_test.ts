import assert from "node:assert/strict";
import { IdealLoop } from "./simd_peak.ts";
import { workerThreads, workerThreadsAtMost, workerThreadsKnown } from "../tests/threads.ts";

Deno.test({
  name: "IdealLoop.close() ends its workers' threads",
  ignore: !workerThreadsKnown,
  fn: async () => {
    const before = workerThreads();
    const loop = await IdealLoop.start(2, 1);
    assert.equal(workerThreads(), before + 2);
    loop.run();
    loop.close();
    assert.equal(
      await workerThreadsAtMost(before),
      before,
      "a closed loop's worker thread is still there after 2 s",
    );
  },
});
