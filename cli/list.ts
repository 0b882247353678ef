/**
 * `cnnlab list`: every loaded plugin and what it registered.
 * @module
 */
import type { PluginListing } from "@cnnlab/core";
import { openRegistry } from "./session.ts";

/**
 * Lists plugins.
 *
 * @param plugins Extra plugin specifiers.
 * @returns `{ plugins: [{ name, version, provides: { layers, losses, ops, backends, datasets, models, optimizers } }] }`.
 */
export async function list(plugins: readonly string[]): Promise<{ plugins: PluginListing[] }> {
  return { plugins: (await openRegistry(plugins)).list() };
}

/**
 * Formats a listing as text.
 *
 * @param listing The listing.
 * @returns One block per plugin.
 */
export function formatList(listing: { plugins: PluginListing[] }): string {
  return listing.plugins.map((p) => {
    const lines = Object.entries(p.provides).filter(([, v]) => v.length).map(([k, v]) =>
      `  ${k}: ${v.join(", ")}`
    );
    return `${p.name} ${p.version}\n${lines.join("\n")}`;
  }).join("\n");
}
