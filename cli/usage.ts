/** Usage text and the error type for bad command lines (exit code 2). */

/** A bad command line: printed with a hint, exit code 2. */
export class UsageError extends Error {
  /** @param message One line saying what is wrong and what to do. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The full usage text. */
export const USAGE = `cnnlab — train and inspect convolutional networks

Usage:
  cnnlab train [options]          train a model and write a run directory
  cnnlab eval --checkpoint DIR    evaluate a saved run (DIR: a run directory or its checkpoint/)
  cnnlab report RUN… [--out F]    one HTML report for run directories (one run: RUN/report.html)
  cnnlab experiment FILE.json     run a grid of variants × seeds (--out DIR, default runs/experiment-NAME)
                                  and write DIR/report.html with mean ± std per variant
  cnnlab list [--json]            list loaded plugins and what they register
  cnnlab bench [options]          measure training and inference throughput of a model

Options:
  --plugin SPEC        load a plugin (path, file:, npm: or jsr: specifier); repeatable
  --backend NAME       backend to run on (default: cpu)
  --threads N          cpu backend: threads for its kernels (default: the number of cores)
  --cpu-kernels KIND   cpu backend: wasm (WebAssembly SIMD, the default) or ts (plain TypeScript)
  --model NAME|FILE    registered model or a JSON model spec (default: lenet5)
  --set KEY=VALUE      model option, VALUE parsed as JSON when it can be (e.g. --set pooling=lpPool2d); repeatable
  --dataset NAME       registered dataset (default: mnist)
  --data DIR           read the dataset from DIR (e.g. IDX files) instead of its built-in data
  --limit N            use only the first N training examples
  --test-limit N       use only the first N test examples
  --loss NAME          loss (default: softmaxCrossEntropy); embedding losses (contrastive, triplet,
                       histogram, lda) train an embedding and report Recall@1
  --loss-option K=V    loss option, V parsed as JSON when it can be (e.g. --loss-option margin=0.5); repeatable
  --embedding-dim N    embedding width of embedding models such as lenet5-embed (default: 32)
  --optimizer NAME     optimizer (default: adam)
  --lr X               learning rate (default: 0.001 for adam, 0.01 for sgd)
  --momentum X         SGD momentum (default: 0.9 when --optimizer sgd)
  --weight-decay X     L2 weight decay (default: 0)
  --schedule NAME      learning-rate schedule: none, step or cosine (default: cosine, decaying towards 0 over the epochs; none for embedding losses)
  --epochs N           epochs (default: 10)
  --batch-size N       batch size (default: 32; 100 for embedding losses, drawn class-balanced: 10 × 10)
  --seed N             seed for initialisation, shuffling and dropout (default: 1)
  --out DIR            run directory (default: runs/<model>-<time>)
  --json               print machine-readable JSON instead of text
  -h, --help           show this help

Exit codes: 0 done, 1 failed run, 2 bad usage.`;
