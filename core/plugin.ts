/**
 * Plugin declarations and the loader. Importing a plugin registers nothing; `registry.use(plugin)` does.
 * @module
 */
import type { BackendFactory, Kernel } from "./backend.ts";
import type { DatasetFactory } from "./dataset.ts";
import { PluginError } from "./errors.ts";
import type { LayerFactory } from "./layer.ts";
import type { LossFactory } from "./loss.ts";
import type { ModelFactory } from "./model_spec.ts";
import type { OpDef } from "./op.ts";
import type { OptimizerFactory } from "./optimizer.ts";
import { CORE_VERSION } from "./version.ts";

/** What a plugin adds, by kind; each component under its own camelCase name. */
export interface PluginProvides {
  // deno-lint-ignore no-explicit-any
  readonly layers?: Readonly<Record<string, LayerFactory<any>>>;
  // deno-lint-ignore no-explicit-any
  readonly losses?: Readonly<Record<string, LossFactory<any>>>;
  // deno-lint-ignore no-explicit-any
  readonly ops?: readonly OpDef<any>[];
  readonly backends?: Readonly<Record<string, BackendFactory>>;
  readonly datasets?: Readonly<Record<string, DatasetFactory>>;
  readonly models?: Readonly<Record<string, ModelFactory>>;
  // deno-lint-ignore no-explicit-any
  readonly optimizers?: Readonly<Record<string, OptimizerFactory<any>>>;
}

/** A plugin declaration. */
export interface Plugin {
  /** Package name, e.g. `@cnnlab/pooling`. */
  readonly name: string;
  /** Package version. */
  readonly version: string;
  /** The core version it was built against (defaults to the running core's). */
  readonly core?: string;
  /** Components it registers. */
  readonly provides: PluginProvides;
  /** Kernels it brings, for its own ops or for others'. */
  // deno-lint-ignore no-explicit-any
  readonly kernels?: readonly Kernel<any, any>[];
}

/** Component kinds, in the order `list` prints them. */
export const COMPONENT_KINDS = [
  "layers",
  "losses",
  "ops",
  "backends",
  "datasets",
  "models",
  "optimizers",
] as const;

/**
 * Declares a plugin, checking its shape.
 *
 * @param plugin The declaration.
 * @returns The same declaration, frozen.
 * @throws {PluginError} If a field is missing or of the wrong type.
 * @example A plugin that provides nothing yet
 * ```ts
 * import { definePlugin } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * const p = definePlugin({ name: "@me/empty", version: "0.0.1", provides: {} });
 * assert.equal(p.name, "@me/empty");
 * ```
 */
export function definePlugin(plugin: Plugin): Plugin {
  checkPlugin(plugin, "definePlugin()");
  return Object.freeze(plugin);
}

/**
 * Checks that a value is a plugin declaration compatible with this core.
 *
 * @param value The candidate.
 * @param from Where it came from, for messages.
 * @throws {PluginError} Naming what is wrong.
 */
export function checkPlugin(value: unknown, from: string): asserts value is Plugin {
  const p = value as Partial<Plugin> | undefined;
  if (!p || typeof p !== "object" || typeof p.name !== "string" || typeof p.version !== "string") {
    throw new PluginError(
      `Cannot use plugin from ${from}: its default export is not a plugin declaration ({ name, version, provides }); export default definePlugin({...})`,
    );
  }
  if (!p.provides || typeof p.provides !== "object") {
    throw new PluginError(`Cannot use plugin "${p.name}" from ${from}: it has no "provides" object`);
  }
  if (p.core !== undefined && !compatible(p.core, CORE_VERSION)) {
    throw new PluginError(
      `Cannot use plugin "${p.name}": it was built for @cnnlab/core ${p.core}, this is ${CORE_VERSION}; install a matching version`,
    );
  }
}

function compatible(wanted: string, have: string): boolean {
  const [wMaj, wMin] = wanted.replace(/^[\^~]/, "").split(".").map(Number);
  const [hMaj, hMin] = have.split(".").map(Number);
  return wMaj === hMaj && (hMaj !== 0 || wMin === hMin);
}

/**
 * Imports a plugin module and returns its declaration (without registering it).
 *
 * @param specifier A local path (relative to the working directory), or a `file:`, `npm:`, `jsr:` or `https:` specifier.
 * @returns The plugin declaration.
 * @throws {PluginError} If the module is missing, fails to load, or has no plugin default export.
 * @example A missing module is a clear error
 * ```ts
 * import { loadPlugin } from "@cnnlab/core";
 * import assert from "node:assert/strict";
 * await assert.rejects(loadPlugin("./no/such/plugin.ts"), /Cannot load plugin/);
 * ```
 */
export async function loadPlugin(specifier: string): Promise<Plugin> {
  const url = /^(npm|jsr|file|https?|data):/.test(specifier)
    ? specifier
    : new URL(specifier, `file://${Deno.cwd()}/`).href;
  let mod: { default?: unknown };
  try {
    mod = await import(url);
  } catch (e) {
    const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
    throw new PluginError(`Cannot load plugin "${specifier}": ${reason}`);
  }
  if (mod.default === undefined) {
    throw new PluginError(
      `Cannot load plugin "${specifier}": the module has no default export; export default definePlugin({...})`,
    );
  }
  checkPlugin(mod.default, `"${specifier}"`);
  return mod.default;
}
