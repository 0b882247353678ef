import { escapeHtml, renderReport, shellQuote } from "./page.ts";
import type { RunData } from "./run_data.ts";
import assert from "node:assert/strict";

const run = (name: string, extra: Partial<RunData> = {}): RunData => ({
  dir: `runs/${name}`,
  name,
  config: { argv: ["train", "--set", `note=${name}`] },
  epochs: [{
    epoch: 1,
    trainLoss: 1,
    testLoss: 0.5,
    testAccuracy: 0.8,
    learningRate: 1e-3,
    seconds: 1,
    imagesPerSecond: 10,
  }],
  summary: { metrics: { test: { accuracy: 0.8, loss: 0.5 }, train: { accuracy: 0.9 } } },
  ...extra,
});

Deno.test("renderReport escapes names and commands, embeds d3 and references nothing external", async () => {
  const html = await renderReport([run("<img src=x onerror=alert(1)>")]);
  assert.ok(!html.includes("<img src=x"));
  assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"));
  assert.ok(html.includes(`deno task cnnlab train --set &#39;note=&lt;img src=x onerror=alert(1)&gt;&#39;`));
  assert.doesNotMatch(html, /(src|href)="https?:/);
  assert.match(html, /d3js\.org v7/, "d3 is inlined");
  const data = JSON.parse(html.match(/id="chart-data">(.*?)<\/script>/s)![1]);
  assert.deepEqual(Object.values(data).map((c) => (c as { kind: string }).kind), ["lines", "lines", "lines"]);
});

Deno.test("renderReport compares several runs and drops pictures rather than exceed maxBytes", async () => {
  const big = "A".repeat(200_000);
  const pic = { width: 1, height: 1, pixels: big, colormap: "gray" as const };
  const insights = {
    kind: "classifier" as const,
    numClasses: 1,
    layerTimes: [],
    timingBatch: 1,
    filters: { layer: "conv1", pictures: [pic] },
  };
  const runs = [run("a", { insights }), run("b", { insights })];
  const full = await renderReport(runs);
  assert.ok(full.includes(big) && full.includes("Comparison of 2 runs"));
  const lean = await renderReport(runs, { maxBytes: full.length - 1 });
  assert.ok(!lean.includes(big));
  assert.match(lean, /Left out to keep this page under its size limit/);
  await assert.rejects(renderReport(runs, { maxBytes: 1000 }), /Cannot write a report under 1000 bytes/);
});

Deno.test("escapeHtml and shellQuote", () => {
  assert.equal(escapeHtml(`a&b<'"`), "a&amp;b&lt;&#39;&quot;");
  assert.equal(shellQuote("--epochs"), "--epochs");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
