/**
 * Opens a report in headless Chromium (Debian's `chromium`) over the DevTools protocol and reports
 * what a reader would see: console errors, network requests, every chart's drawn size, and a PNG
 * screenshot. Without a browser, tests are skipped locally but fail in CI (`CI=true`).
 * @module
 */

/** The browser executable: `$CHROMIUM`, else `chromium` on the PATH, else undefined. */
export const chromiumPath: string | undefined = findChromium();
const inCi = Deno.env.get("CI") === "true";

/** Test options that skip a browser test where no Chromium exists, except in CI. */
export const browserTest: { ignore: boolean } = { ignore: !chromiumPath && !inCi };

function findChromium(): string | undefined {
  const candidates = [Deno.env.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  for (const c of candidates) {
    if (!c) continue;
    try {
      if (Deno.statSync(c).isFile) return c;
    } catch { /* try the next */ }
  }
  return undefined;
}

/** One chart as the browser drew it. */
export interface ChartView {
  readonly id: string;
  readonly title: string;
  /** SVG and canvas elements inside the figure. */
  readonly elements: number;
  /** Largest drawn area among them, CSS pixels². */
  readonly area: number;
}

/** What the page did in the browser. */
export interface PageView {
  readonly consoleErrors: readonly string[];
  /** Every URL the page requested other than the page itself and `data:` URLs. */
  readonly requests: readonly string[];
  /** `document.body.dataset.rendered`: "true" when every chart was drawn. */
  readonly rendered: string | null;
  readonly charts: readonly ChartView[];
  /** Counts of `<svg>` and `<canvas>` elements in the page. */
  readonly svg: number;
  readonly canvas: number;
}

/**
 * Loads a local HTML file in headless Chromium and inspects it.
 *
 * @param file Path of the HTML file.
 * @param options `screenshot`: where to write a full-page PNG.
 * @returns What the page did.
 * @throws {Error} If Chromium is missing or the page does not finish rendering within 20 s.
 */
export async function openInBrowser(file: string, options: { screenshot?: string } = {}): Promise<PageView> {
  if (!chromiumPath) {
    throw new Error(
      "Cannot open the report in a browser: chromium is not installed (apt-get install chromium)",
    );
  }
  const url = new URL(`file://${await Deno.realPath(file)}`).href;
  const profile = await Deno.makeTempDir({ prefix: "cnnlab-chromium-" });
  const child = new Deno.Command(chromiumPath, {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-default-apps",
      "--no-first-run",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "--window-size=1400,1000",
      "about:blank",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const wsUrl = await devtoolsUrl(stderr);
    const cdp = await Cdp.connect(wsUrl);
    try {
      return await inspect(cdp, url, options.screenshot);
    } finally {
      cdp.close();
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await stderr.cancel().catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

async function devtoolsUrl(stderr: ReadableStreamDefaultReader<string>): Promise<string> {
  let text = "";
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { value, done } = await stderr.read();
    if (done) break;
    text += value;
    const m = text.match(/DevTools listening on (ws:\/\/\S+)/);
    if (m) {
      // Keep draining stderr so the browser never blocks on a full pipe.
      (async () => {
        while (!(await stderr.read().catch(() => ({ done: true }))).done) { /* drain */ }
      })();
      return m[1];
    }
  }
  throw new Error(`Cannot start chromium: no DevTools address in its output:\n${text.slice(-500)}`);
}

async function inspect(cdp: Cdp, url: string, screenshot: string | undefined): Promise<PageView> {
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  cdp.on(sessionId, (method, params) => {
    if (method === "Runtime.consoleAPICalled" && (params.type === "error" || params.type === "assert")) {
      consoleErrors.push(
        params.args.map((a: { value?: unknown; description?: string }) => a.value ?? a.description).join(" "),
      );
    } else if (method === "Runtime.exceptionThrown") {
      const d = params.exceptionDetails;
      consoleErrors.push(d.exception?.description ?? d.text);
    } else if (method === "Log.entryAdded" && params.entry.level === "error") {
      consoleErrors.push(params.entry.text);
    } else if (method === "Network.requestWillBeSent") {
      const u: string = params.request.url;
      if (u !== url && !u.startsWith("data:")) requests.push(u);
    }
  });
  for (const domain of ["Runtime", "Log", "Network", "Page"]) {
    await cdp.send(`${domain}.enable`, {}, sessionId);
  }
  await cdp.send("Page.navigate", { url }, sessionId);
  const evaluate = async (expression: string) =>
    (await cdp.send("Runtime.evaluate", { expression, returnByValue: true }, sessionId)).result.value;
  let rendered: string | null = null;
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    rendered = await evaluate(
      `document.readyState === "complete" ? (document.body?.dataset.rendered ?? "none") : null`,
    );
    if (rendered && rendered !== "none") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (rendered === "none") rendered = null;
  const charts: ChartView[] = await evaluate(
    `[...document.querySelectorAll("figure[data-chart]")].map((f) => {
    const els = [...f.querySelectorAll("svg, canvas")];
    const areas = els.map((e) => { const r = e.getBoundingClientRect(); return r.width * r.height; });
    return { id: f.dataset.chart, title: f.querySelector("figcaption")?.textContent ?? "", elements: els.length,
      area: areas.length ? Math.max(...areas) : 0 };
  })`,
  );
  const svg = await evaluate(`document.querySelectorAll("svg").length`);
  const canvas = await evaluate(`document.querySelectorAll("canvas").length`);
  if (screenshot) {
    const { data } = await cdp.send(
      "Page.captureScreenshot",
      { format: "png", captureBeyondViewport: true },
      sessionId,
    );
    await Deno.writeFile(screenshot, Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  }
  return { consoleErrors, requests, rendered, charts, svg, canvas };
}

/**
 * The problems a reader would notice, one line each: console errors, network requests, a page that
 * did not finish, and charts with nothing drawn. Empty when the page is whole.
 *
 * @param view What `openInBrowser` saw.
 * @returns The problems.
 */
export function reportProblems(view: PageView): string[] {
  const problems = [
    ...view.consoleErrors.map((e) => `console error: ${e}`),
    ...view.requests.map((u) => `network request: ${u}`),
  ];
  if (view.rendered !== "true") problems.push(`page did not finish drawing (rendered = ${view.rendered})`);
  if (!view.charts.length) problems.push("page has no charts");
  for (const c of view.charts) {
    if (c.elements === 0 || c.area <= 0) problems.push(`chart "${c.title}" (${c.id}) drew nothing`);
  }
  return problems;
}

// deno-lint-ignore no-explicit-any
type Params = any;

/** A minimal DevTools-protocol client over one WebSocket, with flat sessions. */
class Cdp {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, { resolve: (v: Params) => void; reject: (e: Error) => void }>();
  #listeners = new Map<string, (method: string, params: Params) => void>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`DevTools: ${msg.error.message}`));
        else p?.resolve(msg.result);
      } else if (msg.sessionId) {
        this.#listeners.get(msg.sessionId)?.(msg.method, msg.params);
      }
    };
  }

  static connect(url: string): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(new Cdp(ws));
      ws.onerror = () => reject(new Error(`Cannot connect to chromium's DevTools at ${url}`));
    });
  }

  send(method: string, params: Params = {}, sessionId?: string): Promise<Params> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`DevTools: ${method} did not answer within 30 s`));
      }, 30_000);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  on(sessionId: string, listener: (method: string, params: Params) => void): void {
    this.#listeners.set(sessionId, listener);
  }

  close(): void {
    this.#ws.close();
  }
}
