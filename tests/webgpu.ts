/**
 * The WebGPU device for tests: present wherever an adapter exists (these machines have a software
 * one). Without an adapter, tests are skipped locally but fail in CI (`CI=true`).
 * @module
 */
import { type Device, Registry } from "@cnnlab/core";
import webgpu from "@cnnlab/backend-webgpu";
import type { Plugin } from "@cnnlab/core";

const adapter = await (globalThis.navigator as Navigator | undefined)?.gpu?.requestAdapter().catch(() =>
  null
);
const inCi = Deno.env.get("CI") === "true";

/** Whether WebGPU tests run here: an adapter exists, or CI demands them (and they then fail). */
export const webgpuAvailable: boolean = Boolean(adapter) || inCi;

/** Test options that skip a WebGPU test where no adapter exists, except in CI. */
export const gpuTest: { ignore: boolean } = { ignore: !webgpuAvailable };

/**
 * A registry with the WebGPU backend and the given plugins, and its WebGPU device.
 *
 * @param plugins Plugins whose kernels to register too (their CPU kernels are registered as well).
 * @returns The device.
 * @throws {Error} When there is no adapter (so CI fails instead of skipping).
 */
export function webgpuDevice(plugins: readonly Plugin[] = []): Promise<Device> {
  if (!adapter) {
    throw new Error("Cannot run WebGPU tests: no WebGPU adapter was found (CI=true requires one)");
  }
  const registry = new Registry().use(webgpu);
  for (const p of plugins) registry.use(p);
  return registry.device("webgpu");
}
