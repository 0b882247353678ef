/**
 * The code that runs in the report page: `drawReport` finds every `<figure data-chart>` and draws it
 * with d3 from the JSON embedded in the page. It is written here, type-checked, and inlined into the
 * page through `Function.prototype.toString`, so it may use only its parameters and browser globals.
 *
 * Charts: `lines` (learning curves, overlays), `heatmap` (confusion matrix), `bars` (per-class
 * accuracy, distance histograms; with errors, experiment means as dots with ± std bars), `pictures` (filters,
 * feature maps, saliency, Grad-CAM, confused images, one `<canvas>` each) and `scatter` (embeddings,
 * on a canvas). When every chart is drawn the page sets `document.body.dataset.rendered = "true"`;
 * a chart that fails logs a console error naming it.
 * @module
 */
// deno-lint-ignore-file no-explicit-any

/** A chart's data, as embedded in the page under its figure's `data-chart` id. */
export type ChartSpec =
  | {
    readonly kind: "lines";
    readonly series: readonly {
      readonly name: string;
      readonly x: readonly number[];
      readonly y: readonly number[];
    }[];
    readonly xLabel: string;
    readonly yLabel: string;
    readonly log?: boolean;
  }
  | {
    readonly kind: "heatmap";
    readonly matrix: readonly (readonly number[])[];
    readonly labels: readonly string[];
    readonly xLabel: string;
    readonly yLabel: string;
  }
  | {
    readonly kind: "bars";
    readonly labels: readonly string[];
    readonly values: readonly number[];
    readonly errors?: readonly number[];
    readonly yLabel: string;
    readonly groups?: readonly { readonly name: string; readonly values: readonly number[] }[];
  }
  | {
    readonly kind: "pictures";
    readonly items: readonly {
      readonly caption: string;
      readonly picture: {
        readonly width: number;
        readonly height: number;
        readonly pixels: string;
        readonly colormap: string;
      };
      readonly overlay?: { readonly width: number; readonly height: number; readonly pixels: string };
    }[];
    /** Drawn size of each picture in CSS pixels (longest side). */
    readonly size: number;
    /** Pictures per row (a new row starts after this many). */
    readonly columns?: number;
  }
  | {
    readonly kind: "scatter";
    readonly x: readonly number[];
    readonly y: readonly number[];
    readonly labels: readonly number[];
    readonly classNames: readonly string[];
  };

/**
 * Draws every chart in the page. Runs in the browser; inlined by `toString`.
 *
 * @param d3 The d3 namespace (the UMD build's global).
 * @param charts Chart data by figure id.
 */
export function drawReport(d3: any, charts: Record<string, ChartSpec>): void {
  const doc: any = (globalThis as any).document;
  const palette = d3.schemeCategory10;
  const margin = { top: 12, right: 110, bottom: 36, left: 64 };

  function axes(svg: any, x: any, y: any, w: number, h: number, xLabel: string, yLabel: string) {
    svg.append("g").attr("transform", `translate(0,${h})`).call(d3.axisBottom(x).ticks(6));
    svg.append("g").call(d3.axisLeft(y).ticks(5));
    svg.append("text").attr("x", w / 2).attr("y", h + 30).attr("text-anchor", "middle").attr("class", "label")
      .text(xLabel);
    svg.append("text").attr("transform", "rotate(-90)").attr("x", -h / 2).attr("y", -52)
      .attr("text-anchor", "middle").attr("class", "label").text(yLabel);
  }

  function frame(el: any, width: number, height: number) {
    const w = width - margin.left - margin.right, h = height - margin.top - margin.bottom;
    const svg = d3.select(el).append("svg").attr("width", width).attr("height", height)
      .attr("viewBox", `0 0 ${width} ${height}`);
    return { g: svg.append("g").attr("transform", `translate(${margin.left},${margin.top})`), w, h };
  }

  function lines(el: any, c: Extract<ChartSpec, { kind: "lines" }>) {
    const { g, w, h } = frame(el, 460, 260);
    const xs = c.series.flatMap((s) => s.x), ys = c.series.flatMap((s) => s.y).filter(Number.isFinite);
    const x = d3.scaleLinear().domain(d3.extent(xs)).range([0, w]).nice();
    const y = (c.log ? d3.scaleLog() : d3.scaleLinear()).domain(d3.extent(ys)).range([h, 0]).nice();
    axes(g, x, y, w, h, c.xLabel, c.yLabel);
    c.series.forEach((s, i) => {
      const pts = s.x.map((xv, j) => [xv, s.y[j]]).filter((p) => Number.isFinite(p[1]));
      g.append("path").datum(pts).attr("fill", "none").attr("stroke", palette[i % 10]).attr("stroke-width", 2)
        .attr("d", d3.line().x((p: number[]) => x(p[0])).y((p: number[]) => y(p[1])));
      g.selectAll(null).data(pts).join("circle").attr("r", 2.5).attr("fill", palette[i % 10])
        .attr("cx", (p: number[]) => x(p[0])).attr("cy", (p: number[]) => y(p[1]))
        .append("title").text((p: number[]) => `${s.name}: ${d3.format(".4~g")(p[1])} at ${p[0]}`);
      g.append("text").attr("x", w + 6).attr("y", 10 + i * 14).attr("fill", palette[i % 10])
        .attr("class", "legend").text(s.name);
    });
  }

  function heatmap(el: any, c: Extract<ChartSpec, { kind: "heatmap" }>) {
    const n = c.labels.length, cell = Math.max(14, Math.min(34, Math.floor(360 / n)));
    const size = n * cell;
    const svg = d3.select(el).append("svg").attr("width", size + 70).attr("height", size + 60);
    const g = svg.append("g").attr("transform", "translate(50,10)");
    const max = d3.max(c.matrix.flat()) || 1;
    const color = d3.scaleSequential(d3.interpolateBlues).domain([0, Math.log1p(max)]);
    c.matrix.forEach((row, i) =>
      row.forEach((v, j) => {
        g.append("rect").attr("x", j * cell).attr("y", i * cell).attr("width", cell - 1).attr(
          "height",
          cell - 1,
        )
          .attr("fill", color(Math.log1p(v))).append("title")
          .text(`true ${c.labels[i]}, predicted ${c.labels[j]}: ${v}`);
        if (v > 0 && cell >= 20) {
          g.append("text").attr("x", j * cell + cell / 2).attr("y", i * cell + cell / 2 + 4)
            .attr("text-anchor", "middle").attr("class", "cell")
            .attr("fill", Math.log1p(v) > Math.log1p(max) / 2 ? "#fff" : "#222").text(v);
        }
      })
    );
    const band = d3.scaleBand().domain(c.labels).range([0, size]);
    g.append("g").attr("transform", `translate(0,${size})`).call(d3.axisBottom(band));
    g.append("g").call(d3.axisLeft(band));
    g.append("text").attr("x", size / 2).attr("y", size + 32).attr("text-anchor", "middle").attr(
      "class",
      "label",
    )
      .text(c.xLabel);
    g.append("text").attr("transform", "rotate(-90)").attr("x", -size / 2).attr("y", -32)
      .attr("text-anchor", "middle").attr("class", "label").text(c.yLabel);
  }

  function bars(el: any, c: Extract<ChartSpec, { kind: "bars" }>) {
    const groups = c.groups ?? [{ name: c.yLabel, values: c.values }];
    const longest = d3.max(c.labels, (l: string) => l.length) ?? 1;
    const band = Math.max(26 * groups.length, 7 * longest + 8);
    const { g, w, h } = frame(el, Math.max(360, margin.left + margin.right + c.labels.length * band), 260);
    const x = d3.scaleBand().domain(c.labels).range([0, w]).padding(0.2);
    if (c.errors) {
      // Means with ± std error bars: dots on an axis fitted to the intervals, so small differences show.
      const lo = d3.min(c.values.map((v, i) => v - c.errors![i])),
        hi = d3.max(c.values.map((v, i) => v + c.errors![i]));
      const pad = (hi - lo) * 0.15 || Math.abs(hi) * 0.05 || 1;
      const y = d3.scaleLinear().domain([lo - pad, hi + pad]).range([h, 0]).nice();
      axes(g, x, y, w, h, "", c.yLabel);
      c.values.forEach((v, i) => {
        const cx = x(c.labels[i]) + x.bandwidth() / 2, e = c.errors![i];
        g.append("path").attr("stroke", "#222").attr("fill", "none")
          .attr(
            "d",
            `M${cx - 6},${y(v - e)}H${cx + 6}M${cx},${y(v - e)}V${y(v + e)}M${cx - 6},${y(v + e)}H${cx + 6}`,
          );
        g.append("circle").attr("cx", cx).attr("cy", y(v)).attr("r", 4.5).attr("fill", palette[i % 10])
          .append("title").text(`${c.labels[i]}: ${d3.format(".4~g")(v)} ± ${d3.format(".2~g")(e)}`);
      });
      return;
    }
    const inner = d3.scaleBand().domain(groups.map((s) => s.name)).range([0, x.bandwidth()]).padding(0.05);
    const top = Math.max(0, d3.max(groups.flatMap((s) => s.values)));
    const lo = Math.min(0, d3.min(groups.flatMap((s) => s.values)));
    const y = d3.scaleLinear().domain([lo, top > lo ? top : lo + 1]).range([h, 0]).nice();
    axes(g, x, y, w, h, "", c.yLabel);
    groups.forEach((s, k) => {
      s.values.forEach((v, i) => {
        g.append("rect").attr("x", x(c.labels[i]) + inner(s.name)).attr("width", inner.bandwidth())
          .attr("y", y(Math.max(0, v))).attr("height", Math.abs(y(0) - y(v))).attr("fill", palette[k % 10])
          .append("title").text(`${c.labels[i]} ${s.name}: ${d3.format(".4~g")(v)}`);
      });
      if (groups.length > 1) {
        g.append("text").attr("x", w + 6).attr("y", 10 + k * 14).attr("fill", palette[k % 10])
          .attr("class", "legend").text(s.name);
      }
    });
  }

  const luts: Record<string, Uint8ClampedArray> = {};
  function lut(name: string): Uint8ClampedArray {
    if (luts[name]) return luts[name];
    const t = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const s = name === "gray"
        ? `rgb(${i},${i},${i})`
        : name === "signed"
        ? d3.interpolateRdBu(1 - i / 255)
        : d3.interpolateInferno(i / 255);
      const col = d3.rgb(s);
      t[i * 3] = col.r;
      t[i * 3 + 1] = col.g;
      t[i * 3 + 2] = col.b;
    }
    return luts[name] = t;
  }

  function bytes(b64: string): Uint8Array {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  function pictures(el: any, c: Extract<ChartSpec, { kind: "pictures" }>) {
    const grid = doc.createElement("div");
    grid.className = "pictures";
    if (c.columns) grid.style.gridTemplateColumns = `repeat(${c.columns}, max-content)`;
    el.appendChild(grid);
    for (const item of c.items) {
      const p = item.picture;
      const cell = doc.createElement("div");
      cell.className = "picture";
      const canvas = doc.createElement("canvas");
      canvas.width = p.width;
      canvas.height = p.height;
      const scale = c.size / Math.max(p.width, p.height);
      canvas.style.width = `${Math.round(p.width * scale)}px`;
      canvas.style.height = `${Math.round(p.height * scale)}px`;
      const ctx = canvas.getContext("2d");
      const img = ctx.createImageData(p.width, p.height);
      const px = bytes(p.pixels), map = lut(p.colormap);
      const over = item.overlay ? bytes(item.overlay.pixels) : undefined, heat = lut("heat");
      for (let i = 0; i < px.length; i++) {
        let r = map[px[i] * 3], gr = map[px[i] * 3 + 1], b = map[px[i] * 3 + 2];
        if (over) {
          const a = 0.55 * (over[i] / 255);
          r = (1 - a) * r + a * heat[over[i] * 3];
          gr = (1 - a) * gr + a * heat[over[i] * 3 + 1];
          b = (1 - a) * b + a * heat[over[i] * 3 + 2];
        }
        img.data[i * 4] = r;
        img.data[i * 4 + 1] = gr;
        img.data[i * 4 + 2] = b;
        img.data[i * 4 + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
      cell.appendChild(canvas);
      if (item.caption) {
        const cap = doc.createElement("div");
        cap.className = "caption";
        cap.textContent = item.caption;
        cell.appendChild(cap);
      }
      grid.appendChild(cell);
    }
  }

  function scatter(el: any, c: Extract<ChartSpec, { kind: "scatter" }>) {
    const width = 480, height = 400;
    const w = width - margin.left - margin.right, h = height - margin.top - margin.bottom;
    const wrap = d3.select(el).append("div").style("position", "relative").style("width", `${width}px`)
      .style("height", `${height}px`);
    const canvas = wrap.append("canvas").attr("width", w).attr("height", h).style("position", "absolute")
      .style("left", `${margin.left}px`).style("top", `${margin.top}px`).node();
    const svg = wrap.append("svg").attr("width", width).attr("height", height).style("position", "absolute")
      .style("left", 0).style("top", 0);
    const g = svg.append("g").attr("transform", `translate(${margin.left},${margin.top})`);
    const x = d3.scaleLinear().domain(d3.extent(c.x)).range([0, w]).nice();
    const y = d3.scaleLinear().domain(d3.extent(c.y)).range([h, 0]).nice();
    axes(g, x, y, w, h, "PC 1", "PC 2");
    const ctx = canvas.getContext("2d");
    ctx.globalAlpha = 0.7;
    c.x.forEach((xv, i) => {
      ctx.fillStyle = palette[c.labels[i] % 10];
      ctx.beginPath();
      ctx.arc(x(xv), y(c.y[i]), 2.2, 0, 2 * Math.PI);
      ctx.fill();
    });
    c.classNames.forEach((name, k) =>
      g.append("text").attr("x", w + 6).attr("y", 10 + k * 14).attr("fill", palette[k % 10])
        .attr("class", "legend").text(name)
    );
  }

  const draw: Record<string, (el: any, c: any) => void> = { lines, heatmap, bars, pictures, scatter };
  let failed = 0;
  for (const el of doc.querySelectorAll("figure[data-chart]")) {
    const id = el.getAttribute("data-chart");
    const spec = charts[id];
    try {
      if (!spec) throw new Error("no data for this chart");
      const target = el.querySelector(".plot") ?? el;
      draw[spec.kind](target, spec);
    } catch (e) {
      failed++;
      console.error(`cnnlab report: cannot draw chart "${id}": ${(e as Error).message}`);
    }
  }
  doc.body.dataset.rendered = failed ? "failed" : "true";
}
