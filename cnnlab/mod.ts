/**
 * `@cnnlab/cnnlab`: batteries included. Re-exports `@cnnlab/core` and lists the default plugin set
 * (CPU and WebGPU backends, convolution, pooling, activations, dense layers, merge layers, losses, metric-learning losses, optimizers, MNIST, LeNet-5, AlexNet).
 *
 * @example A registry with every default plugin
 * ```ts
 * import { createRegistry } from "@cnnlab/cnnlab";
 * import assert from "node:assert/strict";
 * const registry = createRegistry();
 * assert.ok(registry.names("layers").includes("lpPool2d"));
 * ```
 * @module
 */
import { type Plugin, Registry } from "@cnnlab/core";
import backendCpu from "@cnnlab/backend-cpu";
import backendWebgpu from "@cnnlab/backend-webgpu";
import conv from "@cnnlab/conv";
import pooling from "@cnnlab/pooling";
import activations from "@cnnlab/activations";
import dense from "@cnnlab/dense";
import merge from "@cnnlab/merge";
import losses from "@cnnlab/losses";
import optimizers from "@cnnlab/optimizers";
import metricLearning from "@cnnlab/metric-learning";
import mnist from "@cnnlab/mnist";
import lenet5 from "@cnnlab/lenet5";
import alexnet from "@cnnlab/alexnet";

export * from "@cnnlab/core";

/** The plugins `createRegistry()` registers, in order. */
export const defaultPlugins: readonly Plugin[] = [
  backendCpu,
  backendWebgpu,
  conv,
  pooling,
  activations,
  dense,
  merge,
  losses,
  optimizers,
  metricLearning,
  mnist,
  lenet5,
  alexnet,
];

/**
 * Creates a registry with the default plugins and any extra ones.
 *
 * @param extra More plugins, registered after the defaults.
 * @returns The registry.
 * @throws {PluginError} If an extra plugin registers a name that is taken.
 */
export function createRegistry(extra: readonly Plugin[] = []): Registry {
  const registry = new Registry();
  for (const p of [...defaultPlugins, ...extra]) registry.use(p);
  return registry;
}

/** The batteries-included entry: `defaultPlugins` and `createRegistry`. */
const cnnlab: { defaultPlugins: readonly Plugin[]; createRegistry: typeof createRegistry } = {
  defaultPlugins,
  createRegistry,
};
export default cnnlab;
