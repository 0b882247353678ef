/** The environment block of summary.json. */
import type { Device } from "@cnnlab/core";

/**
 * Describes the runtime and backend, for summary.json and reports.
 *
 * @param device The device used.
 * @returns Deno, V8 and TypeScript versions, OS, architecture, CPU count and the backend's description.
 */
export function environment(device: Device): Record<string, unknown> {
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
    cpus: navigator.hardwareConcurrency,
    backend: device.name,
    ...device.backend.describe?.(),
  };
}
