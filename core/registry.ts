/**
 * The registry: what plugins registered, keyed by kind and name, and the kernel table
 * keyed by backend then op. Duplicates are errors that name both plugins.
 * @module
 */
import type { Backend, BackendFactory, Kernel } from "./backend.ts";
import type { DatasetFactory } from "./dataset.ts";
import { KernelNotFoundError, PluginError } from "./errors.ts";
import type { LayerFactory } from "./layer.ts";
import type { LossFactory } from "./loss.ts";
import type { ModelFactory } from "./model_spec.ts";
import type { OpDef } from "./op.ts";
import type { OptimizerFactory } from "./optimizer.ts";
import { checkPlugin, COMPONENT_KINDS, type Plugin } from "./plugin.ts";
import { Device } from "./tensor.ts";

interface Entry<T> {
  readonly value: T;
  readonly plugin: string;
}

/** A plugin's registrations, as `cnnlab list --json` prints them. */
export interface PluginListing {
  readonly name: string;
  readonly version: string;
  readonly provides: Record<(typeof COMPONENT_KINDS)[number], string[]>;
}

/** Holds plugins, their components and the (backend, op) → kernel table. */
export class Registry {
  readonly #plugins: Plugin[] = [];
  // deno-lint-ignore no-explicit-any
  readonly #components = new Map<string, Map<string, Entry<any>>>(COMPONENT_KINDS.map((k) => [k, new Map()]));
  // deno-lint-ignore no-explicit-any
  readonly #kernels = new Map<string, Map<string, Entry<Kernel<any, any>>>>();
  readonly #devices = new Map<string, Promise<Device>>();

  /**
   * Registers everything a plugin provides.
   *
   * @param plugin A plugin declaration.
   * @returns This registry, for chaining.
   * @throws {PluginError} If a name is already registered (both plugins are named) or the declaration is malformed.
   * @example Registering a plugin twice names both
   * ```ts
   * import { definePlugin, Registry } from "@cnnlab/core";
   * import assert from "node:assert/strict";
   * const a = definePlugin({ name: "@x/a", version: "1.0.0", provides: { models: { m: () => ({ layers: [] }) } } });
   * const b = definePlugin({ name: "@x/b", version: "1.0.0", provides: { models: { m: () => ({ layers: [] }) } } });
   * assert.throws(() => new Registry().use(a).use(b), /"@x\/a".*"@x\/b"|"@x\/b".*"@x\/a"/);
   * ```
   */
  use(plugin: Plugin): this {
    checkPlugin(plugin, "registry.use()");
    if (this.#plugins.some((p) => p.name === plugin.name)) {
      throw new PluginError(`Cannot register plugin "${plugin.name}": it is already registered`);
    }
    // Check everything first so a failed registration leaves the registry unchanged.
    const adds: [string, string, unknown][] = [];
    for (const kind of COMPONENT_KINDS) {
      const given = plugin.provides[kind];
      if (given === undefined) continue;
      const entries: [string, unknown][] = Array.isArray(given)
        ? (given as OpDef<unknown>[]).map((op) => [op.name, op])
        : Object.entries(given);
      for (const [name, value] of entries) {
        const prior = this.#components.get(kind)!.get(name) ??
          (adds.some(([k, n]) => k === kind && n === name) ? { plugin: plugin.name } : undefined);
        if (prior) {
          throw new PluginError(
            `Cannot register ${
              kind.slice(0, -1)
            } "${name}" from plugin "${plugin.name}": plugin "${prior.plugin}" already registered it; remove one of the two`,
          );
        }
        if (kind !== "ops" && typeof value !== "function") {
          throw new PluginError(
            `Cannot register ${
              kind.slice(0, -1)
            } "${name}" from plugin "${plugin.name}": it is not a factory function`,
          );
        }
        adds.push([kind, name, value]);
      }
    }
    const kernelAdds: Kernel<unknown, unknown>[] = [];
    for (const k of plugin.kernels ?? []) {
      const prior = this.#kernels.get(k.backend)?.get(k.op) ??
        (kernelAdds.some((o) => o.op === k.op && o.backend === k.backend)
          ? { plugin: plugin.name }
          : undefined);
      if (prior) {
        throw new PluginError(
          `Cannot register kernel "${k.op}" for backend "${k.backend}" from plugin "${plugin.name}": plugin "${prior.plugin}" already registered it; remove one of the two`,
        );
      }
      kernelAdds.push(k);
    }
    for (const [kind, name, value] of adds) {
      this.#components.get(kind)!.set(name, { value, plugin: plugin.name });
    }
    for (const k of kernelAdds) {
      if (!this.#kernels.has(k.backend)) this.#kernels.set(k.backend, new Map());
      this.#kernels.get(k.backend)!.set(k.op, { value: k, plugin: plugin.name });
    }
    this.#plugins.push(plugin);
    return this;
  }

  /** Registered plugins, in registration order. */
  get plugins(): readonly Plugin[] {
    return this.#plugins;
  }

  /**
   * Finds the kernel for an op on a backend.
   *
   * @param op The op name.
   * @param backend The backend name.
   * @returns The kernel.
   * @throws {KernelNotFoundError} Naming the backends that do have it and the plugins that provide them.
   */
  // deno-lint-ignore no-explicit-any
  kernel(op: string, backend: string): Kernel<any, any> {
    const k = this.#kernels.get(backend)?.get(op);
    if (k) return k.value;
    const elsewhere = [...this.#kernels].filter(([, m]) => m.has(op)).map(([b, m]) =>
      `"${b}" from ${m.get(op)!.plugin}`
    );
    throw new KernelNotFoundError(
      `Cannot run op "${op}" on backend "${backend}": no kernel is registered (available on: ${
        elsewhere.join(", ") || "no backend"
      }); load a plugin that provides it or choose another --backend`,
    );
  }

  /** Whether a kernel exists for (op, backend). */
  hasKernel(op: string, backend: string): boolean {
    return this.#kernels.get(backend)?.has(op) ?? false;
  }

  /** Names registered for a kind. */
  names(kind: (typeof COMPONENT_KINDS)[number]): string[] {
    return [...this.#components.get(kind)!.keys()];
  }

  #get<T>(kind: (typeof COMPONENT_KINDS)[number], name: string): T {
    const e = this.#components.get(kind)!.get(name);
    if (!e) {
      const known = this.names(kind);
      throw new RangeError(
        `Cannot find ${kind.slice(0, -1)} "${name}": none is registered under that name (registered: ${
          known.join(", ") || "none"
        }); load the plugin that provides it with --plugin`,
      );
    }
    return e.value as T;
  }

  /** The op contract registered under `name`. */
  op(name: string): OpDef<unknown> {
    return this.#get("ops", name);
  }
  /** The layer factory registered under `type`. */
  layer(type: string): LayerFactory {
    return this.#get("layers", type);
  }
  /** The loss factory registered under `name`. */
  loss(name: string): LossFactory {
    return this.#get("losses", name);
  }
  /** The optimizer factory registered under `name`. */
  optimizer(name: string): OptimizerFactory {
    return this.#get("optimizers", name);
  }
  /** The dataset factory registered under `name`. */
  dataset(name: string): DatasetFactory {
    return this.#get("datasets", name);
  }
  /** The model factory registered under `name`. */
  model(name: string): ModelFactory {
    return this.#get("models", name);
  }

  /**
   * Starts (once) and returns the device for a backend.
   *
   * @param name A registered backend name, e.g. `"cpu"`.
   * @param options The backend's settings, used when the device starts (the first call for `name`).
   * @returns The device; the same object on every call.
   * @throws {RangeError} If no plugin registered the backend.
   */
  device(name: string, options?: Readonly<Record<string, unknown>>): Promise<Device> {
    let d = this.#devices.get(name);
    if (!d) {
      const factory = this.#get<BackendFactory>("backends", name);
      d = Promise.resolve().then(() => factory(options)).then((b: Backend) => new Device(this, b));
      d.catch(() => this.#devices.delete(name));
      this.#devices.set(name, d);
    }
    return d;
  }

  /** Every plugin and what it registered, for `cnnlab list`. */
  list(): PluginListing[] {
    return this.#plugins.map((p) => {
      const provides = Object.fromEntries(
        COMPONENT_KINDS.map((k) => [k, [] as string[]]),
      ) as PluginListing["provides"];
      for (const kind of COMPONENT_KINDS) {
        for (const [name, e] of this.#components.get(kind)!) {
          if (e.plugin === p.name) provides[kind].push(name);
        }
      }
      return { name: p.name, version: p.version, provides };
    });
  }
}
