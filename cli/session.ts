/**
 * What every command sets up: the registry (default plugins plus --plugin ones), the device,
 * the model spec and the datasets.
 * @module
 */
import { createRegistry } from "@cnnlab/cnnlab";
import { type Dataset, type Device, loadPlugin, type ModelSpec, type Registry } from "@cnnlab/core";
import type { CliOptions } from "./options.ts";

/**
 * Creates the registry with the default plugins and the ones named by --plugin.
 *
 * @param specifiers Plugin specifiers.
 * @returns The registry.
 */
export async function openRegistry(specifiers: readonly string[]): Promise<Registry> {
  const extra = [];
  for (const s of specifiers) extra.push(await loadPlugin(s));
  return createRegistry(extra);
}

/**
 * Starts the device for --backend, with --threads and --cpu-kernels as the backend's options.
 *
 * @param registry The registry.
 * @param backend Backend name.
 * @param options The backend's settings.
 * @returns The device.
 */
export async function openDevice(
  registry: Registry,
  backend: string,
  options: Readonly<Record<string, unknown>> = {},
): Promise<Device> {
  try {
    return await registry.device(backend, Object.keys(options).length ? options : undefined);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${msg.replace(/\.$/, "")}${backend !== "cpu" ? "; try --backend cpu" : ""}`);
  }
}

/**
 * Opens the train and test splits.
 *
 * @param registry The registry.
 * @param o Options (--dataset, --data, --limit, --test-limit, --seed).
 * @returns Both splits.
 */
export async function openData(
  registry: Registry,
  o: CliOptions,
): Promise<{ train: Dataset; test: Dataset }> {
  const factory = registry.dataset(o.dataset);
  const [train, test] = await Promise.all([
    factory({ path: o.data, split: "train", limit: o.limit }),
    factory({ path: o.data, split: "test", limit: o.testLimit }),
  ]);
  return { train, test };
}

/**
 * Resolves --model: a JSON file (path ending in .json) or a registered model built with --set options,
 * the dataset's input shape and class count.
 *
 * @param registry The registry.
 * @param o Options.
 * @param data The training split, for input shape and classes.
 * @returns The spec.
 */
export async function modelSpec(registry: Registry, o: CliOptions, data: Dataset): Promise<ModelSpec> {
  if (o.model.endsWith(".json")) {
    let text: string;
    try {
      text = await Deno.readTextFile(o.model);
    } catch (e) {
      throw new Error(`Cannot read model file ${o.model}: ${(e as Error).message}`);
    }
    try {
      return JSON.parse(text) as ModelSpec;
    } catch (e) {
      throw new Error(`Cannot read model file ${o.model}: invalid JSON (${(e as Error).message})`);
    }
  }
  const options: Record<string, unknown> = { input: data.inputShape, classes: data.numClasses, ...o.set };
  if (o.embeddingDim !== undefined) options.embeddingDim = o.embeddingDim;
  return registry.model(o.model)(options);
}
