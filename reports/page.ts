/**
 * Builds the report page: tables in HTML, charts as `<figure data-chart>` elements drawn by the
 * inlined `drawReport` with the inlined d3, and every chart's data in one JSON block. The page
 * loads nothing: no external script, style, font or image.
 * @module
 */
import * as d3 from "d3";
import { writeFileAtomic } from "@cnnlab/core";
import { type ChartSpec, drawReport } from "./client.ts";
import type { RunData } from "./run_data.ts";
import type { ExperimentSpec, MeanStd, VariantResult } from "./experiment.ts";
import type { Insights, Picture } from "./insights.ts";

/** Options of `renderReport`. */
export interface ReportOptions {
  /** Page title; default from the runs. */
  readonly title?: string;
  /** An experiment grid's spec and per-variant aggregates: the page leads with their comparison. */
  readonly experiment?: { readonly spec: ExperimentSpec; readonly variants: readonly VariantResult[] };
  /** Show each run's own sections (default: true unless an experiment is given). */
  readonly details?: boolean;
  /** Relative links to each run's own report (experiment pages). */
  readonly runLinks?: boolean;
  /**
   * Size limit of the page in bytes (default 5 MiB). A page with every run's pictures over it is
   * written without the pictures of the inside of the network, saying so, and links to each run's
   * own report instead.
   */
  readonly maxBytes?: number;
}

const fmt = d3.format(".4~f");
const pct = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : "–");
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? d3.format(",")(v) : "–");
const pm = (m: MeanStd, scale = 100, digits = 2) =>
  Number.isFinite(m.mean) ? `${(m.mean * scale).toFixed(digits)} ± ${(m.std * scale).toFixed(digits)}` : "–";

/**
 * Escapes text for HTML.
 *
 * @param s Any text.
 * @returns The text with `& < > " '` escaped.
 * @example
 * ```ts
 * import { escapeHtml } from "@cnnlab/reports";
 * import assert from "node:assert/strict";
 * assert.equal(escapeHtml(`<a href="x">`), "&lt;a href=&quot;x&quot;&gt;");
 * ```
 */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/&#38;/g, "&amp;").replace(/&#60;/g, "&lt;").replace(/&#62;/g, "&gt;").replace(
      /&#34;/g,
      "&quot;",
    );
}

/**
 * Quotes a command-line argument for a POSIX shell where needed.
 *
 * @param arg One argument.
 * @returns It unchanged when safe, else single-quoted.
 * @example
 * ```ts
 * import { shellQuote } from "@cnnlab/reports";
 * import assert from "node:assert/strict";
 * assert.equal(shellQuote("pooling={\"p\":2}"), `'pooling={"p":2}'`);
 * ```
 */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The exact command that reruns a run (from its config.json). */
export function rerunCommand(run: RunData): string {
  const argv = run.config.argv ?? [];
  return `deno task cnnlab ${argv.map(shellQuote).join(" ")}`;
}

let d3Cache: string | undefined;

/**
 * The minified d3 bundle, read from the installed npm package, for inlining.
 *
 * @returns Its source text.
 * @throws {Error} If the package's files cannot be read.
 */
export async function d3Source(): Promise<string> {
  if (d3Cache) return d3Cache;
  const entry = import.meta.resolve("d3");
  const url = new URL("../dist/d3.min.js", entry);
  try {
    d3Cache = url.protocol === "file:" ? await Deno.readTextFile(url) : await (await fetch(url)).text();
  } catch (e) {
    throw new Error(
      `Cannot inline d3: ${url.href} is unreadable (${(e as Error).message}); reinstall npm:d3@7`,
    );
  }
  return d3Cache;
}

/** Collects chart specs while sections are written. */
class Charts {
  readonly specs: Record<string, ChartSpec> = {};
  #n = 0;
  figure(title: string, spec: ChartSpec, note = ""): string {
    const id = `chart${++this.#n}`;
    this.specs[id] = spec;
    return `<figure class="chart" data-chart="${id}"><figcaption>${escapeHtml(title)}</figcaption>` +
      `<div class="plot"></div>${note ? `<p class="note">${note}</p>` : ""}</figure>`;
  }
}

function classNames(run: RunData, k: number): string[] {
  return Array.from({ length: k }, (_, i) => run.insights?.classNames?.[i] ?? String(i));
}

function table(head: readonly string[], rows: readonly (readonly string[])[], cls = ""): string {
  const thead = head.some((h) => h)
    ? `<thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead>`
    : "";
  return `<table class="${cls}">${thead}<tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("") + `</tbody></table>`;
}

function curves(run: RunData, charts: Charts): string {
  const e = run.epochs;
  if (!e.length) return `<p>No epochs recorded.</p>`;
  const x = e.map((r) => r.epoch);
  const series = (name: string, f: (r: (typeof e)[number]) => number | undefined) => {
    const y = e.map((r) => f(r) ?? NaN);
    return y.some(Number.isFinite) ? [{ name, x, y }] : [];
  };
  const loss = [...series("train loss", (r) => r.trainLoss), ...series("test loss", (r) => r.testLoss)];
  const acc = [
    ...series("train accuracy", (r) => r.trainAccuracy),
    ...series("test accuracy", (r) => r.testAccuracy),
    ...series("test Recall@1", (r) => r.testRecallAt1),
  ];
  return `<div class="row">` +
    charts.figure("Loss per epoch", { kind: "lines", series: loss, xLabel: "epoch", yLabel: "loss" }) +
    (acc.length
      ? charts.figure("Accuracy per epoch", {
        kind: "lines",
        series: acc,
        xLabel: "epoch",
        yLabel: "fraction",
      })
      : "") +
    charts.figure("Learning rate", {
      kind: "lines",
      series: series("learning rate", (r) => r.learningRate),
      xLabel: "epoch",
      yLabel: "learning rate",
    }) + `</div>`;
}

function modelTable(run: RunData, ins: Insights | undefined): string {
  const layers: { name: string; type: string; outputShape: number[]; parameters: number; flops: number }[] =
    run.summary.layers ?? [];
  const times = new Map((ins?.layerTimes ?? []).map((t) => [t.name, t]));
  const rows = layers.map((l) => {
    const t = times.get(l.name);
    const share = t
      ? `<span class="bar" style="width:${Math.round(t.share * 120)}px"></span> ${
        (t.share * 100).toFixed(1)
      }%`
      : "–";
    return [
      escapeHtml(l.name),
      escapeHtml(l.type),
      `[${l.outputShape.join(", ")}]`,
      num(l.parameters),
      num(l.flops),
      t ? `${fmt(t.forwardMs)} / ${fmt(t.backwardMs)}` : "–",
      share,
    ];
  });
  rows.push([
    "<b>total</b>",
    "",
    "",
    `<b>${num(run.summary.model?.parameters)}</b>`,
    `<b>${num(run.summary.model?.flops)}</b>`,
    "",
    "",
  ]);
  return table(
    [
      "layer",
      "type",
      "output shape",
      "parameters",
      "FLOPs / example",
      `ms fwd / bwd (batch ${ins?.timingBatch ?? "–"})`,
      "share of step time",
    ],
    rows,
    "summary",
  );
}

function environmentTable(run: RunData): string {
  const env: Record<string, unknown> = run.summary.environment ?? {};
  const tp = run.summary.throughput ?? {};
  const rows: string[][] = [
    ["training throughput", `${fmt(tp.trainImagesPerSecond ?? NaN)} images/s`],
    ["inference throughput", `${fmt(tp.inferImagesPerSecond ?? NaN)} images/s`],
    ["wall time", `${fmt(run.summary.seconds ?? NaN)} s`],
    ...Object.entries(env).map((
      [k, v],
    ) => [escapeHtml(k), escapeHtml(typeof v === "string" ? v : JSON.stringify(v))]),
  ];
  return table(["", ""], rows, "kv");
}

function pictureItems(pics: readonly Picture[], caption: (i: number) => string) {
  return pics.map((picture, i) => ({ caption: caption(i), picture }));
}

function insideSections(run: RunData, charts: Charts): string {
  const ins = run.insights;
  if (!ins) {
    return `<p class="note">This run has no insights.json (written by \`cnnlab train\` since reports exist).</p>`;
  }
  const names = classNames(run, ins.numClasses);
  let html = "";
  if (ins.filters) {
    html += `<h3>First-layer filters (${escapeHtml(ins.filters.layer)})</h3>` +
      charts.figure(
        `${ins.filters.pictures.length} filters, blue negative, red positive`,
        { kind: "pictures", items: pictureItems(ins.filters.pictures, (i) => `#${i}`), size: 56 },
      );
  }
  if (ins.featureMaps) {
    html += `<h3>Feature maps</h3><div class="row">`;
    for (const layer of ins.featureMaps.layers) {
      const items = ins.featureMaps.examples.flatMap((ex, e) => [
        { caption: `digit ${names[ex.label]}`, picture: ex.input },
        ...layer.maps[e].map((picture, c) => ({ caption: `ch ${c}`, picture })),
      ]);
      html += charts.figure(
        `${layer.name}: ${
          layer.maps[0]?.length ?? 0
        } channels of ${ins.featureMaps.examples.length} test images`,
        {
          kind: "pictures",
          items,
          size: 44,
          columns: (layer.maps[0]?.length ?? 0) + 1,
        },
      );
    }
    html += `</div>`;
  }
  if (ins.explanations?.length) {
    const items = ins.explanations.flatMap((x) => [
      {
        caption: `#${x.index}: ${names[x.label]} → ${names[x.predicted]} ${x.correct ? "✓" : "✗"}`,
        picture: x.input,
      },
      { caption: "saliency", picture: x.saliency },
      ...(x.gradCam ? [{ caption: "Grad-CAM", picture: x.input, overlay: x.gradCam }] : []),
    ]);
    html += `<h3>Saliency and Grad-CAM</h3>` + charts.figure(
      `Correct and wrong predictions: |∂score/∂input| and Grad-CAM at ${
        ins.gradCamLayer ?? "–"
      }, for the predicted class`,
      { kind: "pictures", items, size: 84, columns: ins.explanations[0].gradCam ? 6 : 4 },
    );
  }
  if (ins.confused?.length) {
    const items = ins.confused.map((c) => ({
      caption: `true ${names[c.label]}: ` +
        c.top3.map((t) => `${names[t.label]} ${(t.probability * 100).toFixed(0)}%`).join(", "),
      picture: c.input,
    }));
    html += `<h3>Most confused test images</h3>` +
      charts.figure("Wrong predictions made with the highest confidence, with the top-3 classes", {
        kind: "pictures",
        items,
        size: 84,
      });
  }
  if (ins.embedding) {
    html += `<h3>Test embeddings</h3>` + charts.figure(
      `PCA of ${ins.embedding.x.length} test embeddings, coloured by class`,
      {
        kind: "scatter",
        x: ins.embedding.x,
        y: ins.embedding.y,
        labels: ins.embedding.labels,
        classNames: names,
      },
    );
  }
  return html;
}

function runSections(run: RunData, charts: Charts, inside = true): string {
  const s = run.summary, ins = run.insights;
  const test = s.metrics?.test ?? {}, train = s.metrics?.train ?? {};
  const headline = [
    ["model", `${escapeHtml(String(s.model?.name ?? "?"))} (${num(s.model?.parameters)} parameters)`],
    [
      "dataset",
      `${escapeHtml(String(s.dataset?.name ?? "?"))}: ${num(s.dataset?.trainSize)} train, ${
        num(s.dataset?.testSize)
      } test (${escapeHtml(String(s.dataset?.source ?? ""))})`,
    ],
    ["epochs", String(s.epochs ?? run.epochs.length)],
    ...(test.accuracy !== undefined
      ? [["test accuracy", pct(test.accuracy)], ["train accuracy (last epoch)", pct(train.accuracy)]]
      : []),
    ...(test.recallAt1 !== undefined
      ? [[
        "test Recall@1",
        `${pct(test.recallAt1)} (raw pixels ${pct(test.rawPixelRecallAt1)}, ${
          escapeHtml(String(test.embeddingMetric))
        })`,
      ]]
      : []),
    ["test loss", fmt(test.loss ?? NaN)],
  ];
  let html = `<section class="run" id="run-${escapeHtml(run.name)}"><h2>Run ${escapeHtml(run.name)}</h2>` +
    table(["", ""], headline, "kv") +
    `<p>Rerun:</p><pre class="command">${escapeHtml(rerunCommand(run))}</pre>` +
    `<h3>Learning curves</h3>` + curves(run, charts);
  if (ins?.confusion) {
    const names = classNames(run, ins.numClasses);
    html += `<h3>Errors by class</h3><div class="row">` +
      charts.figure("Confusion matrix (test)", {
        kind: "heatmap",
        matrix: ins.confusion,
        labels: names,
        xLabel: "predicted",
        yLabel: "true",
      }) +
      charts.figure("Per-class test accuracy", {
        kind: "bars",
        labels: names,
        values: ins.perClassAccuracy ?? [],
        yLabel: "accuracy",
      }) + `</div>`;
  }
  const dist = test.distances;
  if (dist?.binEdges) {
    const labels = (dist.binEdges as number[]).slice(0, -1).map((e: number) => fmt(e));
    html += `<h3>Distances between test embeddings</h3>` + charts.figure(
      `Positive (same class) and negative pairs, ${escapeHtml(String(test.embeddingMetric))} distance`,
      {
        kind: "bars",
        labels,
        values: dist.positive,
        yLabel: "fraction of pairs",
        groups: [{ name: "positive", values: dist.positive }, { name: "negative", values: dist.negative }],
      },
    );
  }
  html += `<h3>Model</h3>` + modelTable(run, ins) +
    `<h3>Throughput and environment</h3>` + environmentTable(run) +
    `<h2>Inside the network</h2>` +
    (inside
      ? insideSections(run, charts)
      : `<p class="note">Left out to keep this page under its size limit: see <a href="${
        escapeHtml(encodeURI(run.dir))
      }/report.html">${escapeHtml(run.name)}/report.html</a>.</p>`) +
    `</section>`;
  return html;
}

function comparison(runs: readonly RunData[], charts: Charts): string {
  const overlay = (
    title: string,
    yLabel: string,
    f: (r: RunData["epochs"][number]) => number | undefined,
  ) => {
    const series = runs.map((r) => ({
      name: r.name,
      x: r.epochs.map((e) => e.epoch),
      y: r.epochs.map((e) => f(e) ?? NaN),
    }))
      .filter((s) => s.y.some(Number.isFinite));
    return series.length ? charts.figure(title, { kind: "lines", series, xLabel: "epoch", yLabel }) : "";
  };
  const rows = runs.map((r) => {
    const t = r.summary.metrics?.test ?? {}, tr = r.summary.metrics?.train ?? {};
    return [
      `<a href="#run-${escapeHtml(r.name)}">${escapeHtml(r.name)}</a>`,
      escapeHtml(String(r.summary.model?.name ?? "")),
      pct(t.accuracy ?? t.recallAt1),
      pct(tr.accuracy),
      Number.isFinite(tr.accuracy - t.accuracy) ? pct(tr.accuracy - t.accuracy) : "–",
      fmt(t.loss ?? NaN),
      num(r.summary.model?.parameters),
      fmt(r.summary.throughput?.trainImagesPerSecond ?? NaN),
      `<code>${escapeHtml(rerunCommand(r))}</code>`,
    ];
  });
  return `<section><h2>Comparison of ${runs.length} runs</h2>` +
    table([
      "run",
      "model",
      "test accuracy / Recall@1",
      "train accuracy",
      "train − test",
      "test loss",
      "parameters",
      "train images/s",
      "command",
    ], rows) +
    `<div class="row">` +
    overlay("Test accuracy", "fraction", (e) => e.testAccuracy ?? e.testRecallAt1) +
    overlay("Test loss", "loss", (e) => e.testLoss) +
    overlay("Train loss", "loss", (e) => e.trainLoss) + `</div></section>`;
}

function experimentSection(
  experiment: NonNullable<ReportOptions["experiment"]>,
  charts: Charts,
  runLinks: boolean,
): string {
  const { spec, variants } = experiment;
  const labels = variants.map((v) => v.name);
  const best = [...variants].sort((a, b) => b.testAccuracy.mean - a.testAccuracy.mean)[0];
  const leastGap = [...variants].sort((a, b) => a.gap.mean - b.gap.mean)[0];
  const rows = variants.map((v) => [
    escapeHtml(v.name),
    String(v.runs.length),
    pm(v.testAccuracy),
    pm(v.trainAccuracy),
    pm(v.gap),
    pm(v.testLoss, 1, 4),
    pm(v.seconds, 1, 1),
    v.runs.map((r) =>
      runLinks
        ? `<a href="${escapeHtml(encodeURI(r.name))}/report.html">${
          escapeHtml(String(r.config.seed ?? r.name))
        }: ${pct(r.summary.metrics?.test?.accuracy)}</a>`
        : `${escapeHtml(String(r.config.seed ?? r.name))}: ${pct(r.summary.metrics?.test?.accuracy)}`
    ).join(", "),
  ]);
  const meanCurve = (v: VariantResult, f: (e: RunData["epochs"][number]) => number | undefined) => {
    const epochs = Math.max(...v.runs.map((r) => r.epochs.length));
    const x = Array.from({ length: epochs }, (_, i) => i + 1);
    return {
      name: v.name,
      x,
      y: x.map((_, i) => d3.mean(v.runs, (r: RunData) => f(r.epochs[i] ?? ({} as never))) ?? NaN),
    };
  };
  return `<section><h2>Experiment ${escapeHtml(spec.name)}</h2>` +
    (spec.description ? `<p>${escapeHtml(spec.description)}</p>` : "") +
    `<p>Each variant ran with seeds ${
      spec.seeds.join(", ")
    }; cells are mean ± standard deviation (n − 1) over seeds, in percent. ` +
    `Shared flags: <code>${escapeHtml(spec.base.map(shellQuote).join(" "))}</code>.</p>` +
    `<p class="finding">Measured: highest mean test accuracy <b>${escapeHtml(best.name)}</b> (${
      pm(best.testAccuracy)
    }%); ` +
    `smallest train − test gap <b>${escapeHtml(leastGap.name)}</b> (${pm(leastGap.gap)} points).</p>` +
    table([
      "variant",
      "runs",
      "test accuracy % (mean ± std)",
      "train accuracy %",
      "train − test gap (points)",
      "test loss",
      "seconds",
      "per seed",
    ], rows) +
    `<div class="row">` +
    charts.figure("Test accuracy, mean ± std over seeds", {
      kind: "bars",
      labels,
      values: variants.map((v) => v.testAccuracy.mean),
      errors: variants.map((v) => v.testAccuracy.std),
      yLabel: "test accuracy",
    }) +
    charts.figure("Train − test accuracy gap, mean ± std", {
      kind: "bars",
      labels,
      values: variants.map((v) => v.gap.mean),
      errors: variants.map((v) => v.gap.std),
      yLabel: "gap",
    }) +
    charts.figure("Mean test accuracy per epoch", {
      kind: "lines",
      series: variants.map((v) => meanCurve(v, (e) => e.testAccuracy)),
      xLabel: "epoch",
      yLabel: "test accuracy",
    }) +
    charts.figure("Mean train loss per epoch", {
      kind: "lines",
      series: variants.map((v) => meanCurve(v, (e) => e.trainLoss)),
      xLabel: "epoch",
      yLabel: "train loss",
    }) + `</div></section>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1400px;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}table.kv td:first-child{color:#555}
pre.command{background:#f5f5f5;padding:8px;white-space:pre-wrap;word-break:break-all}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure.chart{margin:0 0 12px;padding:6px;border:1px solid #eee}figcaption{font-weight:600;margin-bottom:4px;max-width:700px}
.pictures{display:grid;grid-template-columns:repeat(auto-fill,minmax(90px,max-content));gap:6px}
.picture{text-align:center;font-size:11px;color:#444}.picture canvas{image-rendering:pixelated;display:block;margin:auto;border:1px solid #ccc}
.caption{max-width:130px}.bar{display:inline-block;height:10px;background:#4c78a8}
.note{color:#666;font-size:12px}.finding{background:#f0f6ff;padding:6px 10px}
text.label{font-size:12px;fill:#444}text.legend{font-size:11px}text.cell{font-size:10px}
`;

/**
 * Renders one self-contained HTML page for one or more runs (and an experiment's aggregates).
 *
 * @param runs The runs, in display order.
 * @param options Title, experiment and which sections to show.
 * @returns The HTML text.
 * @throws {TypeError} If no run is given.
 * @throws {RangeError} If the page is over `maxBytes` even without pictures.
 * @example A page for one run has its rerun command
 * ```ts
 * import { renderReport, type RunData } from "@cnnlab/reports";
 * import assert from "node:assert/strict";
 * const run = { dir: "runs/a", name: "a", config: { argv: ["train", "--epochs", "1"] }, epochs: [], summary: {} } as RunData;
 * const html = await renderReport([run]);
 * assert.ok(html.includes("deno task cnnlab train --epochs 1"));
 * ```
 */
export async function renderReport(runs: readonly RunData[], options: ReportOptions = {}): Promise<string> {
  if (!runs.length) {
    throw new TypeError("Cannot render a report: no run given; pass at least one run directory");
  }
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
  const full = await page(runs, options, true);
  if (new TextEncoder().encode(full).length <= maxBytes) return full;
  const lean = await page(runs, options, false);
  const bytes = new TextEncoder().encode(lean).length;
  if (bytes > maxBytes) {
    throw new RangeError(
      `Cannot write a report under ${maxBytes} bytes: ${runs.length} runs take ${bytes} even without pictures; report fewer runs at once`,
    );
  }
  return lean;
}

async function page(runs: readonly RunData[], options: ReportOptions, inside: boolean): Promise<string> {
  const charts = new Charts();
  const details = options.details ?? !options.experiment;
  const title = options.title ??
    (options.experiment
      ? `cnnlab experiment ${options.experiment.spec.name}`
      : `cnnlab report: ${runs.map((r) => r.name).join(", ")}`);
  let body =
    `<h1>${escapeHtml(title)}</h1><p class="note">Written ${new Date().toISOString()} by @cnnlab/reports; ` +
    `self-contained (d3 ${escapeHtml(d3.version ?? "7")} inlined), works offline.</p>`;
  if (options.experiment) body += experimentSection(options.experiment, charts, options.runLinks ?? false);
  if (runs.length > 1) body += comparison(runs, charts);
  if (details) { for (const run of runs) body += runSections(run, charts, inside); }
  const data = JSON.stringify(charts.specs).replace(/</g, "\\u003c");
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1"><title>${
      escapeHtml(title)
    }</title>` +
    `<style>${STYLE}</style></head><body>${body}` +
    `<script type="application/json" id="chart-data">${data}</script>` +
    `<script>${(await d3Source()).replace(/<\/script/gi, "<\\/script")}</script>` +
    `<script>(${drawReport.toString()})(d3, JSON.parse(document.getElementById("chart-data").textContent));</script>` +
    `</body></html>\n`;
}

/**
 * Writes a report atomically (a temporary file, then a rename), so a failed write never leaves a
 * half-written page.
 *
 * @param path Target file.
 * @param html The page.
 * @throws {Error} If the file cannot be written, naming it.
 */
export async function writeReport(path: string, html: string): Promise<void> {
  await writeFileAtomic(path, html);
}
