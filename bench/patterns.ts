/**
 * Patterns benchmark: the pool's throughput and speed-ups, each against a baseline measured by the
 * same run, printed as a table of ratios and targets.
 *
 * 1. `pool.submit` of trivial tasks (`add`), tasks/s, against Piscina on Node with as many threads:
 *    the bench installs piscina with npm into a temporary folder and runs `_piscina/run.cjs` there.
 *    With the default `maxInFlight` and `Promise.all`, then a larger `maxInFlight`, then awaiting
 *    in batches.
 * 2. `pool.map` of trivial items (`square`), items/s, against bare workers that receive the same
 *    chunks by raw `postMessage` (the floor of the messaging cost).
 * 3. The max of 100M doubles: `pool.reduce("max", data)` on 2 workers over a `sharedArray`, against a
 *    plain JavaScript loop on this thread, a C loop on 2 pthreads (compiled with gcc
 *    `-O3 -march=native` into a temporary folder, its rounds alternating with Troupe's so that both
 *    see the same load; skipped, saying why, without gcc) over its own array and, built as a shared
 *    library and called through FFI, over Troupe's array itself (the same pages: on a virtual
 *    machine, which physical pages an array gets can change its streaming time by a third), and,
 *    when python3 imports numpy, `a.max()` in a python3 subprocess (its own array).
 * 4. Seed 004's long jobs, runtimes [5, 2, 4, 1, 5] × 50 ms, each blocking its thread as
 *    `time.sleep` does: one after another on this thread, against a pool of 5 and a pool of 3.
 *
 *   deno run -A bench/patterns.ts [--json] [--size=100000000] [--tasks=100000] [--items=1000000]
 *     [--threads=<cores>] [--rounds=5] [--no-piscina] [--count-posts]
 *
 * `--count-posts` counts the host's `postMessage` calls per task (it wraps `Worker.prototype`).
 */
import { Pool, sharedArray } from "../patterns/mod.ts";
import type * as Tasks from "./_patterns_tasks.ts";

const PISCINA_VERSION = "5.3.2";
const TASKS_URL = new URL("./_patterns_tasks.ts", import.meta.url);
const SEED_004 = [5, 2, 4, 1, 5];
const SEED_UNIT_MS = 50;
const BATCH = 1_000;

const args = new Map(
  Deno.args.map((arg) => arg.replace(/^--/, "").split("=") as [string, string | undefined]),
);
function numberArg(name: string, fallback: number): number {
  const value = Number(args.get(name) ?? fallback);
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`--${name} must be a positive integer, received ${args.get(name)}`);
  }
  return value;
}
const JSON_OUTPUT = args.has("json");
const SIZE = numberArg("size", 100_000_000);
const TASKS = numberArg("tasks", 100_000);
const ITEMS = numberArg("items", 1_000_000);
const THREADS = numberArg("threads", navigator.hardwareConcurrency);
/** Rounds of the fast measures (map, reduce, numpy); submit and seed 004 take 3 each. */
const ROUNDS = numberArg("rounds", 5);
const SLOW_ROUNDS = 3;

const log = JSON_OUTPUT ? () => {} : (line: string) => console.error(line);

interface Row {
  measure: string;
  value: number;
  unit: string;
  baseline: number | undefined;
  baselineLabel: string;
  /** How many times better than the baseline (> 1: better), whatever the unit. */
  ratio: number | undefined;
  target: string;
  met: boolean | undefined;
}

const rows: Row[] = [];
const notes: string[] = [];
const extra: Record<string, unknown> = {};

// ---- helpers ------------------------------------------------------------------------------------

let posts = 0;
if (args.has("count-posts")) {
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (this: Worker, ...rest: Parameters<typeof post>) {
    posts++;
    return post.apply(this, rest);
  } as typeof post;
}

function best(values: number[], higherIsBetter: boolean): number {
  return higherIsBetter ? Math.max(...values) : Math.min(...values);
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes).trim();
}

/** Runs a command; its output, or why it could not run. */
async function run(
  command: string,
  commandArgs: string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<{ ok: true; stdout: string } | { ok: false; why: string }> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(command, {
      args: commandArgs,
      cwd: options.cwd,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
    }).output();
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? `${command} is not installed`
      : `${command} could not run (${(error as Error).message})`;
    return { ok: false, why };
  }
  if (!output.success) {
    const lines = decode(output.stderr).split("\n")
      .filter((line) => line.trim() !== "" && !/^npm warn|complete log of this run/i.test(line));
    return {
      ok: false,
      why: `${command} ${commandArgs[0]} failed (exit ${output.code}): ${
        lines.slice(0, 2).join(" / ") || "no output"
      }`,
    };
  }
  return { ok: true, stdout: decode(output.stdout) };
}

// ---- 1. submit, against Piscina ------------------------------------------------------------------

interface PiscinaResult {
  version: string;
  node: string;
  threads: number;
  rates: number[];
}

async function piscina(threads: number, tasks: number): Promise<PiscinaResult | string> {
  if (args.has("no-piscina")) return "skipped with --no-piscina";
  const node = await run("node", ["--version"]);
  if (!node.ok) return node.why;
  // Without a node on the PATH, Deno.Command("node") runs Deno itself.
  if (!/^v\d+\./.test(node.stdout)) {
    return `node is not installed ("node --version" gave ${node.stdout.split("\n")[0]})`;
  }
  const npm = await run("npm", ["--version"]);
  if (!npm.ok) return npm.why;
  const dir = await Deno.makeTempDir({ prefix: "troupe-bench-piscina-" });
  try {
    log(`Installing piscina@${PISCINA_VERSION} with npm into ${dir}…`);
    const install = await run("npm", [
      "install",
      "--no-save",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      "--prefix",
      dir,
      `piscina@${PISCINA_VERSION}`,
    ], { cwd: dir });
    if (!install.ok) return `npm could not install piscina@${PISCINA_VERSION}: ${install.why}`;
    for (const file of ["run.cjs", "add_worker.cjs"]) {
      await Deno.copyFile(new URL(`./_piscina/${file}`, import.meta.url), `${dir}/${file}`);
    }
    log(`Running ${tasks.toLocaleString("en")} piscina.run calls on ${threads} threads in node…`);
    const result = await run("node", ["run.cjs", `${threads}`, `${tasks}`, `${SLOW_ROUNDS}`], {
      cwd: dir,
    });
    if (!result.ok) return result.why;
    return JSON.parse(result.stdout) as PiscinaResult;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

interface SubmitVariant {
  label: string;
  maxInFlight: number | undefined;
  batch: number | undefined;
}

async function submitRound(pool: Pool<typeof Tasks>, tasks: number, batch: number | undefined) {
  const start = performance.now();
  const step = batch ?? tasks;
  let last = 0;
  for (let from = 0; from < tasks; from += step) {
    const futures = [];
    for (let i = from; i < Math.min(tasks, from + step); i++) {
      futures.push(pool.submit("add", i, 1));
    }
    const results = await Promise.all(futures);
    last = results[results.length - 1];
  }
  const rate = tasks / ((performance.now() - start) / 1000);
  if (last !== tasks) throw new Error(`submit: the last task gave ${last}, expected ${tasks}`);
  return rate;
}

async function submit(variant: SubmitVariant): Promise<{ rate: number; postsPerTask: number }> {
  // Only a given maxInFlight: an explicit `undefined` would override the pool's default.
  await using pool = await Pool.start<typeof Tasks>(TASKS_URL, {
    size: THREADS,
    name: "bench-submit",
    ...(variant.maxInFlight === undefined ? {} : { maxInFlight: variant.maxInFlight }),
  });
  await submitRound(pool, Math.min(TASKS, 20_000), variant.batch);
  const rates: number[] = [];
  const before = posts;
  for (let round = 0; round < SLOW_ROUNDS; round++) {
    rates.push(await submitRound(pool, TASKS, variant.batch));
  }
  return { rate: best(rates, true), postsPerTask: (posts - before) / (TASKS * SLOW_ROUNDS) };
}

// ---- 2. map, against raw postMessage -------------------------------------------------------------

// The results are pushed, not written into `new Array(length)`: a holey array is cloned element by
// element with its index (V8's sparse format), several times slower than a packed one.
const SQUARE_WORKER = `
self.onmessage = ({ data }) => {
  const out = [];
  for (let i = 0; i < data.length; i++) out.push(data[i] * data[i]);
  self.postMessage(out);
};
`;

/** Bare workers that square the chunks they are posted, the floor of `pool.map`'s messaging. */
class RawSquarers implements Disposable {
  readonly #url = URL.createObjectURL(
    new Blob([SQUARE_WORKER], { type: "application/javascript" }),
  );
  readonly #workers: Worker[];
  readonly #waiting: Array<Array<(value: number[]) => void>>;

  constructor(count: number) {
    this.#workers = Array.from({ length: count }, () => new Worker(this.#url, { type: "module" }));
    this.#waiting = this.#workers.map(() => []);
    this.#workers.forEach((worker, i) => {
      worker.onmessage = (event) => this.#waiting[i].shift()!(event.data);
    });
  }

  /** Squares `items` in as many chunks as `pool.map` makes (four per worker), round robin. */
  async map(items: number[]): Promise<number[]> {
    const chunkSize = Math.max(1, Math.ceil(items.length / (this.#workers.length * 4)));
    const replies: Promise<number[]>[] = [];
    for (let start = 0, i = 0; start < items.length; start += chunkSize, i++) {
      const index = i % this.#workers.length;
      replies.push(new Promise((resolve) => this.#waiting[index].push(resolve)));
      this.#workers[index].postMessage(items.slice(start, start + chunkSize));
    }
    return (await Promise.all(replies)).flat();
  }

  [Symbol.dispose](): void {
    for (const worker of this.#workers) worker.terminate();
    URL.revokeObjectURL(this.#url);
  }
}

async function mapRates(items: number[]): Promise<{ troupe: number; raw: number }> {
  const expected = items[items.length - 1] ** 2;
  const rate = async (map: (items: number[]) => Promise<number[]>) => {
    await map(items.slice(0, 100_000));
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const start = performance.now();
      const out = await map(items);
      rates.push(items.length / ((performance.now() - start) / 1000));
      if (out.length !== items.length || out[out.length - 1] !== expected) {
        throw new Error("map: wrong results");
      }
    }
    return best(rates, true);
  };
  let raw: number;
  {
    using squarers = new RawSquarers(THREADS);
    raw = await rate((chunk) => squarers.map(chunk));
  }
  await using pool = await Pool.start<typeof Tasks>(TASKS_URL, {
    size: THREADS,
    name: "bench-map",
  });
  const troupe = await rate((chunk) => pool.map("square", chunk));
  return { troupe, raw };
}

// ---- 3. reduce, against a plain loop and numpy ---------------------------------------------------

function plainMax(a: Float64Array, start: number, end: number): number {
  let m = -Infinity;
  for (let i = start; i < end; i++) m = Math.max(m, a[i]);
  return m;
}

async function timeBest(run: () => number | Promise<number>): Promise<[number, number]> {
  const times: number[] = [];
  let value = NaN;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    value = await run();
    times.push(performance.now() - start);
  }
  return [best(times, false), value];
}

async function numpyMax(size: number): Promise<{ version: string; times: number[] } | string> {
  const script = `
import json, sys, time
try:
    import numpy
except ImportError as error:
    print(json.dumps({"absent": str(error)}))
    sys.exit(0)
a = numpy.random.default_rng(1).random(${size})
numpy.max(a)
times = []
for _ in range(${ROUNDS}):
    t = time.perf_counter()
    numpy.max(a)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"version": numpy.__version__, "times": times}))
`;
  const result = await run("python3", ["-c", script]);
  if (!result.ok) return result.why;
  const parsed = JSON.parse(result.stdout);
  if ("absent" in parsed) return `numpy is not importable (${parsed.absent})`;
  return parsed;
}

/**
 * The C baseline: a max loop over 2 pthreads, each on half of the array. The same source builds a
 * program over its own array and a shared library whose `max_round` the bench calls (FFI) over
 * Troupe's own array, so that both read the very same pages.
 */
const C_MAX = `
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct { const double *a; size_t start, end; double max; } Part;

/* Four accumulators, so that iterations do not wait on each other: memory-bound at -O3. */
static void *part_max(void *arg) {
  Part *p = arg;
  double m0 = -__builtin_inf(), m1 = m0, m2 = m0, m3 = m0;
  size_t i = p->start;
  for (; i + 4 <= p->end; i += 4) {
    m0 = p->a[i] > m0 ? p->a[i] : m0;
    m1 = p->a[i + 1] > m1 ? p->a[i + 1] : m1;
    m2 = p->a[i + 2] > m2 ? p->a[i + 2] : m2;
    m3 = p->a[i + 3] > m3 ? p->a[i + 3] : m3;
  }
  for (; i < p->end; i++) m0 = p->a[i] > m0 ? p->a[i] : m0;
  m0 = m1 > m0 ? m1 : m0;
  m2 = m3 > m2 ? m3 : m2;
  p->max = m2 > m0 ? m2 : m0;
  return NULL;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* One timed round over a[0, n) on THREADS (1 to 64) pthreads: stores the max, returns the ms. */
double max_round(const double *a, size_t n, int threads, double *max_out) {
  Part parts[64];
  pthread_t ids[64];
  double t0 = now_ms();
  for (int k = 0; k < threads; k++) {
    parts[k] = (Part){ a, n * k / threads, n * (k + 1) / threads, 0 };
    pthread_create(&ids[k], NULL, part_max, &parts[k]);
  }
  double max = -__builtin_inf();
  for (int k = 0; k < threads; k++) {
    pthread_join(ids[k], NULL);
    if (parts[k].max > max) max = parts[k].max;
  }
  double ms = now_ms() - t0;
  *max_out = max;
  return ms;
}

/* max SIZE THREADS: fills its array, prints "ready", then runs one timed round per line read,
   printing its time in ms, so that the caller can interleave its own rounds with these. */
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  size_t n = strtoull(argv[1], NULL, 10);
  int threads = atoi(argv[2]);
  if (threads < 1 || threads > 64) return 2;
  double *a = malloc(n * sizeof *a);
  if (a == NULL) return 3;
  srand(1);
  for (size_t i = 0; i < n; i++) a[i] = rand() / (double)RAND_MAX; /* touches every page */
  double sink = 0, max;
  char line[16];
  printf("ready\\n");
  fflush(stdout);
  while (fgets(line, sizeof line, stdin) != NULL) {
    printf("%.3f\\n", max_round(a, n, threads, &max));
    fflush(stdout);
    sink += max;
  }
  fprintf(stderr, "%f\\n", sink);
  free(a);
  return 0;
}
`;

/** The C baseline, running: one round per call, interleaved with Troupe's. */
interface CMax {
  readonly gcc: string;
  /** Runs one round over the program's own array; its time in ms. */
  round(): Promise<number>;
  /**
   * Runs one round of the library's loop over `data` itself, on this process's threads; its time
   * in ms and the max. A string says why there is no such round (the library did not build or load).
   */
  readonly sameArray: ((data: Float64Array) => { ms: number; max: number }) | string;
  close(): Promise<void>;
}

/**
 * Compiles the C max (gcc -O3 -march=native) into a temporary folder and starts it on `threads`
 * pthreads over its own `size` doubles; or says why there is no C baseline.
 */
async function startCMax(size: number, threads: number): Promise<CMax | string> {
  const dir = await Deno.makeTempDir({ prefix: "troupe-bench-c-" });
  const fail = async (why: string) => {
    await Deno.remove(dir, { recursive: true });
    return why;
  };
  await Deno.writeTextFile(`${dir}/max.c`, C_MAX);
  const version = await run("gcc", ["--version"]);
  if (!version.ok) return fail(version.why);
  const flags = ["-O3", "-march=native", "-pthread", "-o", `${dir}/max`, `${dir}/max.c`];
  const compiled = await run("gcc", flags);
  if (!compiled.ok) return fail(compiled.why);
  const sameArray = await loadCMaxLibrary(dir, threads);
  const child = new Deno.Command(`${dir}/max`, {
    args: [String(size), String(threads)],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const writer = child.stdin.getWriter();
  let buffered = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const end = buffered.indexOf("\n");
      if (end >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        return line;
      }
      const { value, done } = await lines.read();
      if (done) throw new Error("the C baseline ended early");
      buffered += value;
    }
  };
  if (await nextLine() !== "ready") return fail("the C baseline did not start");
  return {
    gcc: version.stdout.split("\n")[0],
    async round() {
      await writer.write(new TextEncoder().encode("go\n"));
      return Number(await nextLine());
    },
    sameArray: typeof sameArray === "string" ? sameArray : sameArray.round,
    async close() {
      await writer.close();
      await lines.cancel();
      await child.status;
      if (typeof sameArray !== "string") sameArray.library.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Builds the same C source as a shared library in `dir` and opens it, for rounds of its loop over
 * Troupe's array (a synchronous FFI call: this thread waits while the library's pthreads run).
 * Which physical pages an array gets can change a streaming loop's time by a third on a virtual
 * machine, even at the same page size; over the same array, that difference is gone.
 */
async function loadCMaxLibrary(dir: string, threads: number) {
  const flags = ["-O3", "-march=native", "-pthread", "-shared", "-fPIC"];
  const compiled = await run("gcc", [...flags, "-o", `${dir}/libmax.so`, `${dir}/max.c`]);
  if (!compiled.ok) return compiled.why;
  let library;
  try {
    library = Deno.dlopen(`${dir}/libmax.so`, {
      max_round: { parameters: ["pointer", "usize", "i32", "buffer"], result: "f64" },
    });
  } catch (error) {
    return `the C library could not be loaded (${(error as Error).message})`;
  }
  const max = new Float64Array(1);
  const round = (data: Float64Array) => {
    // The pointer of a view over shared memory, which Deno.UnsafePointer.of's type leaves out.
    const pointer = Deno.UnsafePointer.of(data as Float64Array<ArrayBuffer>);
    const ms = library.symbols.max_round(pointer, BigInt(data.length), threads, max);
    return { ms, max: max[0] };
  };
  return { library, round };
}

// ---- 4. seed 004 ---------------------------------------------------------------------------------

function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function seedParallel(size: number, maxInFlight?: number): Promise<number> {
  await using pool = await Pool.start<typeof Tasks>(TASKS_URL, {
    size,
    name: `bench-seed-${size}`,
    ...(maxInFlight === undefined ? {} : { maxInFlight }),
  });
  await Promise.all(Array.from({ length: size }, () => pool.submit("longRunning", 1)));
  const times: number[] = [];
  for (let round = 0; round < SLOW_ROUNDS; round++) {
    const start = performance.now();
    await Promise.all(SEED_004.map((units) => pool.submit("longRunning", units * SEED_UNIT_MS)));
    times.push(performance.now() - start);
  }
  return best(times, false);
}

async function seedSerialInPool(): Promise<number> {
  await using pool = await Pool.start<typeof Tasks>(TASKS_URL, { size: 1, name: "bench-seed-1" });
  await pool.submit("longRunning", 1);
  const times: number[] = [];
  for (let round = 0; round < SLOW_ROUNDS; round++) {
    const start = performance.now();
    for (const units of SEED_004) await pool.submit("longRunning", units * SEED_UNIT_MS);
    times.push(performance.now() - start);
  }
  return best(times, false);
}

/**
 * How long `workers` workers take when each task, in submit order, goes to the first worker that is
 * free (Python's pools and seed 004's queue of 3 processes): the ideal ratio is serial / this.
 */
function firstFreeMakespan(runtimes: number[], workers: number): number {
  const freeAt = new Array(workers).fill(0);
  for (const time of runtimes) {
    const first = freeAt.indexOf(Math.min(...freeAt));
    freeAt[first] += time;
  }
  return Math.max(...freeAt);
}

// ---- the run -------------------------------------------------------------------------------------

const loadBefore = Deno.loadavg()[0];

// 1. submit
const pis = await piscina(THREADS, TASKS);
const piscinaRate = typeof pis === "string" ? undefined : best(pis.rates, true);
const piscinaLabel = typeof pis === "string"
  ? "Piscina: skipped"
  : `Piscina ${pis.version}, node ${pis.node}, ${pis.threads} threads`;
if (typeof pis === "string") notes.push(`No Piscina baseline: ${pis}.`);
extra.piscina = pis;

const variants: SubmitVariant[] = [
  { label: "maxInFlight 64 (default), Promise.all", maxInFlight: undefined, batch: undefined },
  { label: "maxInFlight 64, Promise.all", maxInFlight: 64, batch: undefined },
  { label: "maxInFlight 256, Promise.all", maxInFlight: 256, batch: undefined },
  { label: `maxInFlight 64 (default), batches of ${BATCH}`, maxInFlight: undefined, batch: BATCH },
  { label: `maxInFlight 256, batches of ${BATCH}`, maxInFlight: 256, batch: BATCH },
];
const postsPerTask: Record<string, number> = {};
for (const variant of variants) {
  log(`pool.submit × ${TASKS.toLocaleString("en")}, ${variant.label}…`);
  const { rate, postsPerTask: perTask } = await submit(variant);
  postsPerTask[variant.label] = perTask;
  rows.push({
    measure: `submit add, ${THREADS} workers, ${variant.label}`,
    value: rate,
    unit: "tasks/s",
    baseline: piscinaRate,
    baselineLabel: piscinaLabel,
    ratio: piscinaRate === undefined ? undefined : rate / piscinaRate,
    target: "≥ 4×",
    met: piscinaRate === undefined ? undefined : rate / piscinaRate >= 4,
  });
}
if (args.has("count-posts")) extra.hostPostsPerTask = postsPerTask;

// 2. map
log(`pool.map × ${ITEMS.toLocaleString("en")} items, and the same chunks by raw postMessage…`);
const items = Array.from({ length: ITEMS }, (_, i) => i);
const maps = await mapRates(items);
rows.push({
  measure: `map square, ${THREADS} workers, ${ITEMS.toLocaleString("en")} items`,
  value: maps.troupe,
  unit: "items/s",
  baseline: maps.raw,
  baselineLabel: "bare workers, raw postMessage of the same chunks",
  ratio: maps.troupe / maps.raw,
  target: "≥ 5M items/s",
  met: maps.troupe >= 5e6,
});
{
  const start = performance.now();
  items.map((x) => x * x);
  extra.mapOneThreadItemsPerSecond = ITEMS / ((performance.now() - start) / 1000);
}

// 3. reduce
log(
  `Allocating and filling ${SIZE.toLocaleString("en")} doubles (${
    (SIZE * 8 / 1e6).toFixed(0)
  } MB)…`,
);
const data = sharedArray(Float64Array, SIZE);
for (let i = 0; i < SIZE; i++) data[i] = Math.random();
{
  const warm = new Float64Array(10_000).map(Math.random);
  for (let i = 0; i < 3_000; i++) plainMax(warm, i % 7, warm.length);
}
log(`Max of ${SIZE.toLocaleString("en")} doubles: plain loop, then pool.reduce on 2 workers…`);
const [loopMs, expectedMax] = await timeBest(() => plainMax(data, 0, SIZE));
log("Compiling and starting the same max in C: gcc -O3 -march=native, 2 pthreads (its own array)…");
const c = await startCMax(SIZE, 2);
if (typeof c === "string") notes.push(`No C baseline: ${c}.`);
const reduceTimes: number[] = [];
const cTimes: number[] = [];
const cSameTimes: number[] = [];
{
  await using pool = await Pool.start<typeof Tasks>(TASKS_URL, { size: 2, name: "bench-reduce" });
  for (let i = 0; i < 20; i++) await pool.reduce("max", data.subarray(0, 1_000_000));
  // Rounds alternate between Troupe and C, so that both see the same load on a shared machine.
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    const max = await pool.reduce("max", data);
    reduceTimes.push(performance.now() - start);
    if (max !== expectedMax) throw new Error(`reduce gave ${max}, the loop ${expectedMax}`);
    if (typeof c !== "string") cTimes.push(await c.round());
    if (typeof c !== "string" && typeof c.sameArray !== "string") {
      const same = c.sameArray(data);
      cSameTimes.push(same.ms);
      if (same.max !== expectedMax) throw new Error(`C gave ${same.max}, the loop ${expectedMax}`);
    }
  }
}
if (typeof c !== "string") await c.close();
const reduceMs = best(reduceTimes, false);
const cMs = typeof c === "string" ? undefined : best(cTimes, false);
const cSame = typeof c === "string" ? c : c.sameArray;
if (typeof c !== "string" && typeof cSame === "string") {
  notes.push(`No C on the same array: ${cSame}.`);
}
const cSameMs = typeof cSame === "string" ? undefined : best(cSameTimes, false);
extra.reduceMs = reduceTimes;
extra.c = typeof c === "string" ? c : { gcc: c.gcc, times: cTimes };
extra.cSameArray = typeof cSame === "string" ? cSame : { times: cSameTimes };
log("numpy.max in a python3 subprocess (its own array)…");
const np = await numpyMax(SIZE);
const numpyMs = typeof np === "string" ? undefined : best(np.times, false);
if (typeof np === "string") notes.push(`No numpy baseline: ${np}.`);
extra.numpy = np;
const doubles = `${(SIZE / 1e6).toLocaleString("en")}M doubles`;
rows.push({
  measure: `reduce max of ${doubles}, 2 workers, vs 1 thread`,
  value: reduceMs,
  unit: "ms",
  baseline: loopMs,
  baselineLabel: "plain JS loop (Math.max), this thread",
  ratio: loopMs / reduceMs,
  target: "—",
  met: undefined,
});
rows.push({
  measure: `reduce max of ${doubles}, 2 workers, vs numpy`,
  value: reduceMs,
  unit: "ms",
  baseline: numpyMs,
  baselineLabel: typeof np === "string" ? "numpy: skipped" : `numpy ${np.version} max, python3`,
  ratio: numpyMs === undefined ? undefined : numpyMs / reduceMs,
  target: "> 1× (faster)",
  met: numpyMs === undefined ? undefined : numpyMs > reduceMs,
});
rows.push({
  measure: `reduce max of ${doubles}, 2 workers, vs C`,
  value: reduceMs,
  unit: "ms",
  baseline: cMs,
  baselineLabel: typeof c === "string"
    ? "C: skipped"
    : `C, 2 pthreads, ${c.gcc} -O3 -march=native, rounds alternating`,
  ratio: cMs === undefined ? undefined : cMs / reduceMs,
  target: "≥ 0.91× (≤ 1.1× C's time)",
  met: cMs === undefined ? undefined : reduceMs <= 1.1 * cMs,
});
rows.push({
  measure: `reduce max of ${doubles}, 2 workers, vs C on the same array`,
  value: reduceMs,
  unit: "ms",
  baseline: cSameMs,
  baselineLabel: typeof cSame === "string"
    ? "C on the same array: skipped"
    : "the same C loop on 2 pthreads over this sharedArray (FFI), rounds alternating",
  ratio: cSameMs === undefined ? undefined : cSameMs / reduceMs,
  target: "≥ 0.91× (≤ 1.1× C's time)",
  met: cSameMs === undefined ? undefined : reduceMs <= 1.1 * cSameMs,
});
extra.reduceTimesCTime = cMs === undefined ? undefined : reduceMs / cMs;
extra.reduceTimesCSameArrayTime = cSameMs === undefined ? undefined : reduceMs / cSameMs;

// 4. seed 004
log(`Seed 004: runtimes [${SEED_004}] × ${SEED_UNIT_MS} ms, serial, then pools of 1, 5 and 3…`);
const serialTimes: number[] = [];
for (let round = 0; round < SLOW_ROUNDS; round++) {
  const start = performance.now();
  for (const units of SEED_004) blockFor(units * SEED_UNIT_MS);
  serialTimes.push(performance.now() - start);
}
const serialMs = best(serialTimes, false);
extra.seed004 = {
  serialMainThreadMs: serialMs,
  serialPoolOf1Ms: await seedSerialInPool(),
  poolOf3MaxInFlight1Ms: await seedParallel(3, 1),
};
const total = SEED_004.reduce((a, b) => a + b, 0);
for (const size of [5, 3]) {
  const ms = await seedParallel(size);
  const ideal = total / firstFreeMakespan(SEED_004, size);
  const target = size === 5 ? 3.2 : Math.floor(0.95 * ideal * 100) / 100;
  rows.push({
    measure: `seed 004 [${SEED_004}]×${SEED_UNIT_MS} ms, pool of ${size}`,
    value: ms,
    unit: "ms",
    baseline: serialMs,
    baselineLabel: "one after another, this thread",
    ratio: serialMs / ms,
    target: size === 5 ? "≥ 3.2×" : `≥ ${target}× *`,
    met: serialMs / ms >= target,
  });
}
notes.push(
  `* A pool of 3 cannot reach 3.2×: the best any schedule does is ${total}/6 = ${
    (total / 6).toFixed(2)
  }×. Giving each task to the first free worker, as seed 004's queue of 3 processes does, takes ${
    firstFreeMakespan(SEED_004, 3)
  } units: ${total}/${firstFreeMakespan(SEED_004, 3)} = ${
    (total / firstFreeMakespan(SEED_004, 3)).toFixed(2)
  }×; the target is 95% of that.`,
);
const loadAfter = Deno.loadavg()[0];

// ---- report --------------------------------------------------------------------------------------

if (JSON_OUTPUT) {
  const output = {
    threads: THREADS,
    cores: navigator.hardwareConcurrency,
    loadavg: [loadBefore, loadAfter],
    rows,
    notes,
    ...extra,
  };
  // A missing baseline is `null`, not a missing key.
  console.log(JSON.stringify(output, (_key, value) => value === undefined ? null : value));
} else {
  const format = (value: number | undefined, unit: string) => {
    if (value === undefined) return "n/a";
    if (unit === "ms") return `${value.toFixed(1)} ms`;
    if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M ${unit}`;
    return `${(value / 1e3).toFixed(1)}k ${unit}`;
  };
  const table = [
    ["measure", "value", "baseline", "ratio", "target", "met?"],
    ...rows.map((row) => [
      row.measure,
      format(row.value, row.unit),
      `${format(row.baseline, row.unit)} (${row.baselineLabel})`,
      row.ratio === undefined ? "n/a" : `${row.ratio.toFixed(2)}×`,
      row.target,
      row.met === undefined ? (row.target === "—" ? "—" : "skipped") : row.met ? "yes" : "NO",
    ]),
  ];
  const widths = table[0].map((_, column) => Math.max(...table.map((line) => line[column].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`;
  console.log(
    `\nTroupe patterns bench: ${THREADS} threads on ${navigator.hardwareConcurrency} cores, load average ${
      loadBefore.toFixed(2)
    } → ${loadAfter.toFixed(2)}; ratio > 1 means Troupe is better than the baseline`,
  );
  console.log(line(table[0]));
  console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
  for (const cells of table.slice(1)) console.log(line(cells));
  const seed = extra.seed004 as Record<string, number>;
  console.log(
    `\nseed 004 also: serial in a pool of 1 ${
      seed.serialPoolOf1Ms.toFixed(1)
    } ms; pool of 3 with maxInFlight 1 ${seed.poolOf3MaxInFlight1Ms.toFixed(1)} ms (${
      (serialMs / seed.poolOf3MaxInFlight1Ms).toFixed(2)
    }×)`,
  );
  console.log(
    `map on this thread alone (items.map): ${
      format(extra.mapOneThreadItemsPerSecond as number, "items/s")
    }`,
  );
  if (args.has("count-posts")) {
    for (const [label, perTask] of Object.entries(postsPerTask)) {
      console.log(`host postMessage calls per task, ${label}: ${perTask.toFixed(4)}`);
    }
  }
  if (extra.reduceTimesCTime !== undefined) {
    console.log(
      `pool.reduce max of ${doubles} takes ${
        (extra.reduceTimesCTime as number).toFixed(2)
      }× the time of C on 2 pthreads (target ≤ 1.1×)`,
    );
  }
  if (extra.reduceTimesCSameArrayTime !== undefined) {
    console.log(
      `pool.reduce max of ${doubles} takes ${
        (extra.reduceTimesCSameArrayTime as number).toFixed(2)
      }× the time of the same C over the same array (same pages; target ≤ 1.1×)`,
    );
  }
  for (const note of notes) console.log(note);
}
