/**
 * `cnnlab <train|eval|report|experiment|list|bench>`: the command line. It knows plugins only through the registry.
 *
 * @example List the default plugins
 * ```ts
 * import { run } from "@cnnlab/cli";
 * import assert from "node:assert/strict";
 * assert.equal(await run(["list", "--json"], { quiet: true }), 0);
 * ```
 * @module
 */
import { parseCli } from "./options.ts";
import { USAGE, UsageError } from "./usage.ts";
import { train } from "./train.ts";
import { evalCommand } from "./eval.ts";
import { formatList, list } from "./list.ts";
import { measureThroughput } from "./bench.ts";
import { modelSpec, openData, openRegistry } from "./session.ts";
import { experimentCommand, reportCommand } from "./report.ts";

/**
 * Runs one command line.
 *
 * @param argv Arguments after the program name.
 * @param options `quiet` suppresses standard output (for tests).
 * @returns The exit code: 0 done, 1 failed run, 2 bad usage.
 */
export async function run(argv: readonly string[], options: { quiet?: boolean } = {}): Promise<number> {
  const print = (s: string) => options.quiet || console.log(s);
  try {
    const o = parseCli(argv);
    if (o.help || o.command === "help") {
      print(USAGE);
      return 0;
    }
    const given = new Set(argv.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")[0]));
    switch (o.command) {
      case "train": {
        const { out, summary } = await train(o, argv);
        if (o.json) print(JSON.stringify({ out, ...summary }));
        else {
          const m = summary.metrics as { test: { accuracy?: number; recallAt1?: number; loss: number } };
          const t = summary.throughput as { trainImagesPerSecond: number };
          const acc = m.test.accuracy !== undefined
            ? `test accuracy ${(m.test.accuracy * 100).toFixed(2)}%, `
            : "";
          print(
            `${acc}test loss ${m.test.loss.toFixed(4)}, ${
              Math.round(t.trainImagesPerSecond)
            } train img/s; run written to ${out}, report ${out}/report.html`,
          );
        }
        return 0;
      }
      case "eval": {
        const r = await evalCommand(o, given);
        print(
          o.json
            ? JSON.stringify(r)
            : `${r.checkpoint}: test accuracy ${
              ((r.accuracy as number) * 100).toFixed(2)
            }% on ${r.testSize} examples, loss ${(r.loss as number).toFixed(4)}`,
        );
        return 0;
      }
      case "report": {
        const path = await reportCommand(o);
        print(o.json ? JSON.stringify({ report: path }) : `report written to ${path}`);
        return 0;
      }
      case "experiment": {
        const r = await experimentCommand(o, (line) => o.json || console.error(line));
        if (o.json) print(JSON.stringify(r));
        else {
          for (const v of r.variants) {
            print(
              `${v.name.padEnd(16)} test accuracy ${(v.testAccuracy.mean * 100).toFixed(2)} ± ${
                (v.testAccuracy.std * 100).toFixed(2)
              }%, train − test gap ${(v.gap.mean * 100).toFixed(2)} ± ${(v.gap.std * 100).toFixed(2)} points`,
            );
          }
          print(`report written to ${r.report}`);
        }
        return 0;
      }
      case "list": {
        const l = await list(o.plugins);
        print(o.json ? JSON.stringify(l, null, 2) : formatList(l));
        return 0;
      }
      case "bench": {
        const registry = await openRegistry(o.plugins);
        const { train: data } = await openData(registry, { ...o, limit: 1, testLimit: 1 });
        const spec = await modelSpec(registry, o, data);
        const r = await measureThroughput({
          registry,
          backend: o.backend,
          backendOptions: Object.keys(o.backendOptions).length ? o.backendOptions : undefined,
          spec,
          batchSize: o.batchSize ?? 64,
        });
        print(
          o.json
            ? JSON.stringify(r)
            : `${spec.name}: train ${Math.round(r.trainImagesPerSecond)} img/s, infer ${
              Math.round(r.inferImagesPerSecond)
            } img/s (batch ${o.batchSize ?? 64}, ${o.backend})`,
        );
        return 0;
      }
      case "":
        throw new UsageError("no command given");
      default:
        throw new UsageError(`unknown command "${o.command}"`);
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (e instanceof UsageError) {
      console.error(`cnnlab: ${msg}; run "cnnlab --help" for usage`);
      return 2;
    }
    console.error(`cnnlab: error: ${msg.split("\n")[0]}`);
    if (Deno.env.get("CNNLAB_DEBUG")) console.error(e);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
