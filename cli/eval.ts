/**
 * `cnnlab eval --checkpoint DIR`: reloads a run's weights and evaluates them on the test split.
 * @module
 */
import { evaluate, loadCheckpoint, Model, restoreTensors, Rng } from "@cnnlab/core";
import type { CliOptions } from "./options.ts";
import { openData, openDevice, openRegistry } from "./session.ts";
import { UsageError } from "./usage.ts";

/**
 * Runs `cnnlab eval`.
 *
 * @param o Parsed options; `--checkpoint` is a run directory or its `checkpoint/`.
 * @param given Flags given explicitly (they override the run's config).
 * @returns Test loss and accuracy.
 */
export async function evalCommand(
  o: CliOptions,
  given: ReadonlySet<string>,
): Promise<Record<string, unknown>> {
  if (!o.checkpoint) throw new UsageError("eval needs --checkpoint DIR (a run directory or its checkpoint/)");
  let ckptDir = o.checkpoint.replace(/\/$/, "");
  let config: { options?: Partial<CliOptions> } = {};
  try {
    config = JSON.parse(await Deno.readTextFile(`${ckptDir}/config.json`));
    ckptDir = `${ckptDir}/checkpoint`;
  } catch {
    try {
      config = JSON.parse(await Deno.readTextFile(`${ckptDir}/../config.json`));
    } catch { /* a bare checkpoint: flags decide */ }
  }
  const saved = config.options ?? {};
  const opts: CliOptions = {
    ...o,
    dataset: given.has("dataset") ? o.dataset : saved.dataset ?? o.dataset,
    data: given.has("data") ? o.data : saved.data ?? o.data,
    loss: given.has("loss") ? o.loss : saved.loss ?? o.loss,
    plugins: [...(saved.plugins ?? []), ...o.plugins.filter((p) => !saved.plugins?.includes(p))],
  };
  const ckpt = await loadCheckpoint(ckptDir);
  const registry = await openRegistry(opts.plugins);
  const device = await openDevice(registry, opts.backend, opts.backendOptions);
  const { test } = await openData(registry, { ...opts, limit: 1 });
  const model = new Model(ckpt.spec, { registry, device, rng: new Rng(0) });
  restoreTensors(model.parameters(), ckpt.tensors, ckptDir);
  const loss = registry.loss(opts.loss)({});
  const result = await evaluate(model, loss, test, { batchSize: 256 });
  return {
    checkpoint: ckptDir,
    dataset: opts.dataset,
    testSize: test.size,
    loss: result.loss,
    accuracy: result.accuracy,
  };
}
