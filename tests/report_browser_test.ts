/**
 * Reports in a real browser: pages written from real (short) training runs open in headless
 * Chromium with no console error and no network request, and every chart draws something. A page
 * with one chart removed must fail the same check. Screenshots are kept in test-artifacts/.
 */
import { run } from "@cnnlab/cli";
import assert from "node:assert/strict";
import { browserTest, openInBrowser, reportProblems } from "./browser.ts";

const artifacts = new URL("../test-artifacts/", import.meta.url).pathname;
await Deno.mkdir(artifacts, { recursive: true });

async function quiet(argv: string[]): Promise<void> {
  const log = console.log, error = console.error;
  const lines: string[] = [];
  console.log = () => {};
  console.error = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    const code = await run(argv);
    assert.equal(code, 0, `cnnlab ${argv.join(" ")} failed: ${lines.join("\n")}`);
  } finally {
    console.log = log;
    console.error = error;
  }
}

const root = await Deno.makeTempDir({ prefix: "cnnlab-report-test-" });
const classifier = `${root}/classifier`;
const common = ["--limit", "400", "--test-limit", "200", "--json"];

Deno.test({
  name: "a classifier run's report renders every chart in Chromium, offline and without console errors",
  ...browserTest,
  fn: async () => {
    await quiet(["train", "--model", "lenet5", "--epochs", "2", ...common, "--out", classifier]);
    const html = await Deno.readTextFile(`${classifier}/report.html`);
    assert.ok(html.length < 5 * 1024 * 1024, `report is ${html.length} bytes, over 5 MB`);
    assert.doesNotMatch(html, /(src|href)="https?:/, "the page must not reference the network");
    const view = await openInBrowser(`${classifier}/report.html`, { screenshot: `${artifacts}report.png` });
    assert.deepEqual(reportProblems(view), []);
    const titles = view.charts.map((c) => c.title).join(" | ");
    for (
      const part of [
        "Loss per epoch",
        "Accuracy per epoch",
        "Learning rate",
        "Confusion matrix",
        "Per-class test accuracy",
        "filters",
        "conv1:",
        "conv2:",
        "Grad-CAM",
        "top-3",
      ]
    ) assert.ok(titles.includes(part), `no chart titled "${part}" in: ${titles}`);
    assert.ok(view.svg >= 5 && view.canvas >= 20, `svg ${view.svg}, canvas ${view.canvas}`);
    const png = await Deno.readFile(`${artifacts}report.png`);
    assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71], "screenshot is a PNG");
  },
});

Deno.test({
  name: "the browser check fails when a chart is missing from a report",
  ...browserTest,
  fn: async () => {
    const html = await Deno.readTextFile(`${classifier}/report.html`);
    // Remove the confusion matrix's data: the page then has a figure with nothing drawn in it.
    const data = html.match(/<script type="application\/json" id="chart-data">(.*?)<\/script>/s)!;
    const charts = JSON.parse(data[1]);
    const id = Object.keys(charts).find((k) => charts[k].kind === "heatmap")!;
    delete charts[id];
    const broken = `${root}/broken.html`;
    await Deno.writeTextFile(
      broken,
      html.replace(data[1], JSON.stringify(charts).replace(/</g, "\\u003c")),
    );
    const problems = reportProblems(await openInBrowser(broken));
    assert.ok(
      problems.some((p) => p.includes(`Confusion matrix (test)" (${id}) drew nothing`)),
      problems.join("\n"),
    );
    assert.ok(problems.some((p) => p.startsWith("console error:") && p.includes(id)), problems.join("\n"));
    // And a page whose chart was drawn but then removed from the DOM is caught as well.
    await Deno.writeTextFile(
      broken,
      html.replace(
        "</body>",
        `<script>document.querySelector("figure[data-chart] svg").remove()</script></body>`,
      ),
    );
    const removed = reportProblems(await openInBrowser(broken));
    assert.ok(removed.some((p) => p.includes("drew nothing")), removed.join("\n"));
  },
});

Deno.test({
  name: "an embedding run and a two-run comparison render in Chromium",
  ...browserTest,
  fn: async () => {
    const embed = `${root}/embedding`;
    await quiet([
      "train",
      "--model",
      "lenet5-embed",
      "--loss",
      "contrastive",
      "--epochs",
      "1",
      "--embedding-dim",
      "8",
      ...common,
      "--out",
      embed,
    ]);
    const view = await openInBrowser(`${embed}/report.html`, { screenshot: `${artifacts}embedding.png` });
    assert.deepEqual(reportProblems(view), []);
    assert.ok(view.charts.some((c) => c.title.startsWith("PCA of 200 test embeddings")));
    assert.ok(view.charts.some((c) => c.title.startsWith("Positive (same class) and negative pairs")));
    await quiet(["report", classifier, embed, "--out", `${root}/compare.html`]);
    const compare = await openInBrowser(`${root}/compare.html`, { screenshot: `${artifacts}compare.png` });
    assert.deepEqual(reportProblems(compare), []);
    assert.ok(compare.charts.some((c) => c.title === "Test accuracy"));
  },
});

Deno.test({
  name: "cnnlab experiment runs a grid over seeds and writes a report with mean ± std that renders",
  ...browserTest,
  fn: async () => {
    const file = `${root}/grid.json`;
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        name: "tiny-pooling",
        description: "max against average pooling, 2 seeds",
        base: ["--model", "lenet5", "--epochs", "1", "--limit", "200", "--test-limit", "100"],
        variants: [
          { name: "max", args: ["--set", "pooling=maxPool2d"] },
          { name: "avg", args: ["--set", "pooling=avgPool2d"] },
        ],
        seeds: [1, 2],
      }),
    );
    const out = `${root}/grid`;
    await quiet(["experiment", file, "--out", out, "--json"]);
    const summary = JSON.parse(await Deno.readTextFile(`${out}/summary.json`));
    assert.deepEqual(summary.variants.map((v: { name: string }) => v.name), ["max", "avg"]);
    for (const v of summary.variants) {
      assert.equal(v.testAccuracy.n, 2);
      assert.ok(v.testAccuracy.std >= 0 && v.testAccuracy.mean > 0);
    }
    const html = await Deno.readTextFile(`${out}/report.html`);
    assert.match(html, /mean ± std/);
    const view = await openInBrowser(`${out}/report.html`, { screenshot: `${artifacts}experiment.png` });
    assert.deepEqual(reportProblems(view), []);
    // The per-seed runs are linked, and each has its own report.
    await Deno.stat(`${out}/max-seed2/report.html`);
  },
});
