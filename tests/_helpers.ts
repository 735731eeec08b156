/**
 * Test helpers. Deno's sanitizers do not notice a Worker left running, so this module tracks every
 * live one with the test kit's `trackWorkers` (from its first import, before any test creates a
 * worker), and `test()` fails any test that leaves one behind (terminating it, so the leak does not
 * spread to the next test).
 *
 * @module
 */

import FakeTimers from "@sinonjs/fake-timers";
import type { SystemEvent, SystemEvents } from "../mod.ts";
import { trackWorkers, withLeakCheck } from "../testing/mod.ts";

/** Every worker created through the global `Worker` since this module loaded, and still alive. */
const all = trackWorkers();

/** How many workers created through the global `Worker` are still alive. */
export function liveWorkers(): number {
  return all.live.size;
}

/**
 * Fails with the number of workers started since `before` and still alive, after terminating them.
 */
export function assertNoLeakedWorkers(before: ReadonlySet<Worker> = new Set()): void {
  const leaked = [...all.live].filter((worker) => !before.has(worker));
  for (const worker of leaked) worker.terminate();
  if (leaked.length > 0) {
    throw new Error(`${leaked.length} worker(s) were left alive by the test`);
  }
}

/** `Deno.test` that also fails when the test leaves a Worker alive (the kit's `withLeakCheck`). */
export function test(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void> | void,
  options: Omit<Deno.TestDefinition, "name" | "fn"> = {},
): void {
  Deno.test({ name, ...options, fn: withLeakCheck(fn) });
}

/** Resolves with the first event of `type` that the stream publishes and `match` accepts. */
export function nextEvent<K extends SystemEvent["type"]>(
  events: SystemEvents,
  type: K,
  match: (event: Extract<SystemEvent, { type: K }>) => boolean = () => true,
): Promise<Extract<SystemEvent, { type: K }>> {
  return new Promise((resolve) => {
    const off = events.on((event) => {
      if (event.type !== type) return;
      const typed = event as Extract<SystemEvent, { type: K }>;
      if (!match(typed)) return;
      off();
      resolve(typed);
    });
  });
}

/**
 * Waits until another thread (or a handler on this one) sets `flag[0]` to non-zero. On Deno's main
 * thread `Atomics.waitAsync` does not keep the event loop alive, so this polls once a millisecond.
 */
export async function waitForFlag(flag: Int32Array<SharedArrayBuffer>): Promise<void> {
  while (Atomics.load(flag, 0) === 0) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

export type State<T> =
  | { status: "pending" }
  | { status: "fulfilled"; value: T }
  | { status: "rejected"; reason: unknown };

/** Follows a promise's settlement; read `.current` after {@linkcode flush}. */
export function track<T>(promise: Promise<T>): { readonly current: State<T> } {
  const tracker: { current: State<T> } = { current: { status: "pending" } };
  promise.then(
    (value) => tracker.current = { status: "fulfilled", value },
    (reason) => tracker.current = { status: "rejected", reason },
  );
  return tracker;
}

/** Lets every promise reaction that is already due run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** An AbortController whose signal counts the abort listeners currently attached to it. */
export function countingController(): { controller: AbortController; listeners: () => number } {
  const controller = new AbortController();
  const signal = controller.signal;
  const attached = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((type: string, listener: EventListener, options?: unknown) => {
    if (type === "abort") attached.add(listener);
    add(type, listener, options as AddEventListenerOptions);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: EventListener, options?: unknown) => {
    if (type === "abort") attached.delete(listener);
    remove(type, listener, options as EventListenerOptions);
  }) as typeof signal.removeEventListener;
  // A `{ once: true }` listener is gone after it fires.
  add("abort", () => attached.clear());
  return { controller, listeners: () => attached.size };
}

/**
 * A bare worker running a test fixture that answers requests with `{ op, ... }` replies, read in
 * order with `next()`; an `{ op: "error" }` reply or a crash of the worker rejects. `using`
 * terminates it.
 */
export class FixtureWorker<Request, Reply extends { op: string }> implements Disposable {
  readonly #name: string;
  readonly #worker: Worker;
  #replies: Reply[] = [];
  #readers: { resolve(reply: Reply): void; reject(error: unknown): void }[] = [];
  #failure: unknown = undefined;

  constructor(url: URL, name: string) {
    this.#name = name;
    this.#worker = new Worker(url, { type: "module" });
    this.#worker.onmessage = ({ data }: MessageEvent<Reply>) => {
      const reader = this.#readers.shift();
      if (reader === undefined) this.#replies.push(data);
      else reader.resolve(data);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failure = new Error(`${name} failed: ${event.message}`);
      for (const reader of this.#readers.splice(0)) reader.reject(this.#failure);
    };
  }

  /** Sends a request. */
  send(request: Request): void {
    this.#worker.postMessage(request);
  }

  /** The next reply. */
  async next(): Promise<Reply> {
    const reply = this.#replies.shift() ?? await new Promise<Reply>((resolve, reject) => {
      if (this.#failure !== undefined) reject(this.#failure);
      else this.#readers.push({ resolve, reject });
    });
    if (reply.op === "error") {
      throw new Error(`${this.#name}: ${(reply as unknown as { message: string }).message}`);
    }
    return reply;
  }

  /** The next reply, which must be of kind `op`. */
  async expect<K extends Reply["op"]>(op: K): Promise<Extract<Reply, { op: K }>> {
    const reply = await this.next();
    if (reply.op !== op) {
      throw new Error(`expected a "${op}" reply, received ${JSON.stringify(reply)}`);
    }
    return reply as Extract<Reply, { op: K }>;
  }

  [Symbol.dispose](): void {
    this.#worker.terminate();
  }
}

/** A fake clock from `@sinonjs/fake-timers`. */
export type Clock = ReturnType<typeof FakeTimers.install>;

/** Runs `fn` with `setTimeout`, `clearTimeout` and `performance` faked; the clock is restored after. */
export async function withClock<T>(fn: (clock: Clock) => T | Promise<T>): Promise<T> {
  const clock = FakeTimers.install({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  try {
    return await fn(clock);
  } finally {
    clock.uninstall();
  }
}

/**
 * Starts a subprocess whose stdout lines are collected as they come: `waitFor` resolves with the
 * first line that passes `test` (and rejects if the process ends without one), `stop` kills it and
 * waits for its end.
 */
export function spawnLines(command: string, options: Deno.CommandOptions) {
  const process = new Deno.Command(command, { ...options, stdout: "piped" }).spawn();
  const lines: string[] = [];
  let wake = () => {};
  const ended = (async () => {
    let buffered = "";
    for await (const chunk of process.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      lines.push(...parts);
      wake();
    }
  })();
  const waitFor = async (test: (line: string) => boolean): Promise<string> => {
    while (true) {
      const found = lines.find(test);
      if (found !== undefined) return found;
      const woken = new Promise<void>((resolve) => wake = resolve);
      const done = await Promise.race([woken.then(() => false), ended.then(() => true)]);
      if (done && lines.find(test) === undefined) {
        throw new Error(`The process ended without the expected line:\n${lines.join("\n")}`);
      }
    }
  };
  const stop = async () => {
    try {
      process.kill("SIGKILL");
    } catch {
      // already ended
    }
    await ended.catch(() => {});
    await process.status;
  };
  return { process, lines, ended, waitFor, stop };
}

/**
 * Runs `deno ARGS…` in `cwd` to the end, without colours and within `timeoutMs` (a recursion in a
 * fixture would never end by itself): its exit code, stdout and stderr.
 */
export async function runDeno(
  args: string[],
  cwd: string | URL,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
