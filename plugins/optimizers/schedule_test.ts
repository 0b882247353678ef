import { Registry } from "@cnnlab/core";
import { assertClose } from "@cnnlab/core/testing";
import cpu from "@cnnlab/backend-cpu";
import assert from "node:assert/strict";
import { adam } from "./adam.ts";
import { sgd } from "./sgd.ts";
import { learningRateAt, resolveSchedule, type ScheduleOptions } from "./schedule.ts";

const ratesOf = (factory: typeof sgd | typeof adam, lr: number, schedule: ScheduleOptions, total: number) => {
  const opt = factory({ lr, schedule });
  return Array.from({ length: total }, (_, i) => {
    opt.startEpoch(i + 1, total);
    return opt.learningRate;
  });
};

Deno.test("step schedule: the rate per epoch decays by gamma every stepSize epochs", () => {
  // lr 0.1, stepSize 2, gamma 0.5: epochs 1–2 at 0.1, 3–4 at 0.05, 5–6 at 0.025.
  const want = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025];
  for (const factory of [sgd, adam]) {
    assertClose(ratesOf(factory, 0.1, { type: "step", stepSize: 2, gamma: 0.5 }, 6), want, { atol: 1e-12 });
  }
  // Default gamma 0.1, stepSize 3.
  assertClose(ratesOf(sgd, 1, { type: "step", stepSize: 3 }, 7), [1, 1, 1, 0.1, 0.1, 0.1, 0.01], {
    atol: 1e-12,
  });
});

Deno.test("cosine schedule: warm-up, then cosine from lr towards minLr over the remaining epochs", () => {
  // lr 0.1, minLr 0.01, 2 warm-up epochs of 6: 0.1·1/3, 0.1·2/3, then t = 0, ¼, ½, ¾ of the cosine:
  // 0.01 + 0.09·(1 + cos πt)/2 = 0.1, 0.0868198, 0.055, 0.0231802.
  const want = [0.0333333, 0.0666667, 0.1, 0.0868198, 0.055, 0.0231802];
  for (const factory of [sgd, adam]) {
    const got = ratesOf(factory, 0.1, { type: "cosine", minLr: 0.01, warmupEpochs: 2 }, 6);
    assertClose(got, want, { atol: 1e-7 });
  }
  // Defaults: no warm-up, minLr 0; over 2 epochs: 1, then (1 + cos π/2)/2 = 0.5.
  assertClose(ratesOf(adam, 1, { type: "cosine" }, 2), [1, 0.5], { atol: 1e-12 });
  // A one-epoch run stays at the base rate.
  assertClose(ratesOf(sgd, 0.3, { type: "cosine" }, 1), [0.3], { atol: 1e-12 });
});

Deno.test("sgd() without a schedule keeps its rate; learningRate is the base rate before startEpoch", () => {
  const opt = sgd({ lr: 0.2, schedule: { type: "cosine", warmupEpochs: 3 } });
  assert.equal(opt.learningRate, 0.2);
  const plain = sgd({ lr: 0.2 });
  plain.startEpoch(5, 9);
  assert.equal(plain.learningRate, 0.2);
});

Deno.test("sgd() steps with the scheduled rate in force", async () => {
  const device = await new Registry().use(cpu).device("cpu");
  const opt = sgd({ lr: 0.1, schedule: { type: "step", stepSize: 2 } });
  const p = device.tensor([1], [1]);
  opt.startEpoch(3, 4); // rate 0.01
  opt.step(new Map([["p", p]]), new Map([["p", device.tensor([1], [1])]]));
  assertClose(p.dataSync(), [0.99]);
});

Deno.test("startEpoch() and learningRateAt() reject epochs outside 1..total", () => {
  const opt = adam({ schedule: { type: "step", stepSize: 1 } });
  for (const [e, t] of [[0, 5], [6, 5], [1.5, 5], [1, NaN]]) {
    assert.throws(() => opt.startEpoch(e, t), (err) => err instanceof RangeError && /adam/.test(err.message));
    assert.throws(() => learningRateAt(undefined, { lr: 1, epoch: e, totalEpochs: t }), RangeError);
  }
});

Deno.test("resolveSchedule() rejects bad schedules with a RangeError naming the optimizer and option", () => {
  const bad: [unknown, string][] = [
    [{ type: "linear" }, "schedule.type"],
    [{ stepSize: 2 }, "schedule.type"],
    [{ type: "step" }, "schedule.stepSize"],
    [{ type: "step", stepSize: 1.5 }, "schedule.stepSize"],
    [{ type: "step", stepSize: 2, gamma: 0 }, "schedule.gamma"],
    [{ type: "step", stepSize: 2, minLr: 0 }, "schedule.minLr"],
    [{ type: "cosine", minLr: -0.1 }, "schedule.minLr"],
    [{ type: "cosine", minLr: 0.2 }, "schedule.minLr"],
    [{ type: "cosine", warmupEpochs: -1 }, "schedule.warmupEpochs"],
    [{ type: "cosine", warmupEpochs: 0.5 }, "schedule.warmupEpochs"],
    [{ type: "cosine", period: 3 }, "schedule.period"],
  ];
  for (const [schedule, key] of bad) {
    assert.throws(
      () => resolveSchedule(schedule as ScheduleOptions, { optimizer: "sgd", lr: 0.1 }),
      (e) => e instanceof RangeError && e.message.includes("optimizer sgd") && e.message.includes(`"${key}"`),
      JSON.stringify(schedule),
    );
  }
  assert.throws(() => resolveSchedule("step" as never, { optimizer: "sgd", lr: 0.1 }), TypeError);
});
