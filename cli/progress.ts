/**
 * Progress output: a redrawn bar with images/s and ETA on a terminal, plain lines otherwise.
 * @module
 */
import type { EpochRecord, StepProgress } from "@cnnlab/core";

/** Reports training progress to stderr. */
export class Progress {
  readonly #tty: boolean;
  readonly #batchSize: number;
  readonly #encoder = new TextEncoder();
  #lastDraw = 0;
  #lastPlain = performance.now();

  /**
   * @param batchSize Images per step, for the ETA.
   * @param tty Draw a bar (terminal) or print plain lines every 10 s.
   */
  constructor(batchSize: number, tty: boolean = Deno.stderr.isTerminal()) {
    this.#batchSize = batchSize;
    this.#tty = tty;
  }

  #write(text: string): void {
    Deno.stderr.writeSync(this.#encoder.encode(text));
  }

  /** Called after each step. */
  step(p: StepProgress): void {
    const now = performance.now();
    const remaining = (p.steps - p.step + (p.epochs - p.epoch) * p.steps) * this.#batchSize;
    const eta = fmtTime(remaining / Math.max(p.imagesPerSecond, 1e-9));
    const rate = `${Math.round(p.imagesPerSecond)} img/s`;
    if (this.#tty) {
      if (now - this.#lastDraw < 100 && p.step !== p.steps) return;
      this.#lastDraw = now;
      const width = 24, done = Math.round((p.step / p.steps) * width);
      this.#write(
        `\repoch ${p.epoch}/${p.epochs} [${"#".repeat(done)}${
          "-".repeat(width - done)
        }] ${p.step}/${p.steps} ` +
          `loss ${p.loss.toFixed(4)} ${rate} ETA ${eta}\x1b[K`,
      );
    } else if (now - this.#lastPlain > 10_000) {
      this.#lastPlain = now;
      this.#write(
        `epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.steps} loss ${
          p.loss.toFixed(4)
        } ${rate} ETA ${eta}\n`,
      );
    }
  }

  /** Called after each epoch. */
  epoch(r: EpochRecord, epochs: number): void {
    const test = r.testAccuracy !== undefined
      ? ` test acc ${(r.testAccuracy * 100).toFixed(2)}%`
      : r.testRecallAt1 !== undefined
      ? ` test R@1 ${(r.testRecallAt1 * 100).toFixed(2)}%`
      : "";
    const train = r.trainAccuracy !== undefined ? ` train acc ${(r.trainAccuracy * 100).toFixed(2)}%` : "";
    this.#write(
      `${this.#tty ? "\r\x1b[K" : ""}epoch ${r.epoch}/${epochs} loss ${
        r.trainLoss.toFixed(4)
      }${train}${test} ` +
        `lr ${r.learningRate.toPrecision(3)} ${Math.round(r.imagesPerSecond)} img/s ${
          r.seconds.toFixed(1)
        }s\n`,
    );
  }
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}
