// `troupe top [URL]`: a live terminal view of a system served by `system.observe()`.

import type { Command } from "npm:@commander-js/extra-typings@15.1.0";
import {
  CliError,
  type Context,
  errorJson,
  isTty,
  type Palette,
  palette,
  parseInteger,
  reportError,
  sleep,
  write,
} from "./_output.ts";

/** An actor of the `/stats` tree. */
export interface ActorNode {
  path: string;
  kind: "actor";
  name: string;
  placement: string;
  status: string;
  mailboxDepth: number;
  processed: number;
  restarts: number;
  lastError?: string | { name?: string; message: string } | null;
  /** The children it spawned with `ctx.spawn`. */
  children?: TreeNode[];
}

/** A supervisor of the `/stats` tree. */
export interface SupervisorNode {
  path: string;
  kind: "supervisor";
  strategy: string;
  children: TreeNode[];
}

/** A node of the `/stats` tree. */
export type TreeNode = ActorNode | SupervisorNode;

/** The body of `GET /stats`. */
export interface Stats {
  name: string;
  time: number | string;
  deadLetters: number;
  endpoints: number;
  abandonedThreads: number;
  tree: TreeNode;
}

/** The default address of `troupe run --observe 7070`. */
export const DEFAULT_URL = "http://127.0.0.1:7070";

/** Registers `top` on the program. */
export function registerTop(program: Command, context: Context): void {
  program.command("top")
    .description("A live terminal view of a system started with `troupe run --observe PORT`")
    .argument("[url]", "the system's live-view address", DEFAULT_URL)
    .option("--interval <ms>", "time between refreshes", parseInteger("interval", 50), 500)
    .option("--count <n>", "snapshots to print when not on a terminal", parseInteger("count", 1))
    .action(async (url, options) => {
      try {
        context.exitCode = await top(url, options);
      } catch (error) {
        reportError(error);
        context.exitCode = error instanceof CliError ? error.code : 1;
      }
    });
}

/** Fetches `/stats`; a one-line `CliError` (exit 1) when the system cannot be reached. */
export async function fetchStats(base: string): Promise<Stats> {
  let url: URL;
  try {
    url = new URL("/stats", base);
  } catch {
    throw new CliError(`Cannot watch "${base}": not a URL`, 2);
  }
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  } catch (error) {
    let reason = errorJson(error).message.split("\n", 1)[0];
    for (let cause: unknown = error; cause instanceof Error; cause = cause.cause) {
      if (cause instanceof Deno.errors.ConnectionRefused || /refused/i.test(cause.message)) {
        reason = "connection refused";
      }
    }
    throw new CliError(
      `Cannot reach ${url.origin}: ${reason} (is it started with \`troupe run --observe PORT\`?)`,
      1,
      { cause: error },
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CliError(`Cannot read ${url.href}: HTTP ${response.status}`, 1);
  }
  try {
    return await response.json() as Stats;
  } catch (error) {
    throw new CliError(`Cannot read ${url.href}: the answer is not JSON`, 1, { cause: error });
  }
}

/** Runs the view; returns the exit code. */
export async function top(
  url: string,
  options: { interval: number; count?: number },
): Promise<number> {
  let previous = await fetchStats(url);
  let previousAt = performance.now();
  if (!Deno.stdout.isTerminal() || options.count !== undefined) {
    // Plain snapshots: each one measures msg/s over one interval.
    const count = options.count ?? 1;
    for (let i = 0; i < count; i++) {
      await sleep(options.interval);
      const stats = await fetchStats(url);
      const now = performance.now();
      if (i > 0) write("\n");
      write(render(url, stats, previous, now - previousAt, palette(false), 0));
      previous = stats;
      previousAt = now;
    }
    return 0;
  }
  return await live(url, options.interval, previous, previousAt);
}

async function live(
  url: string,
  interval: number,
  first: Stats,
  firstAt: number,
): Promise<number> {
  const quit = new AbortController();
  const raw = Deno.stdin.isTerminal();
  if (raw) Deno.stdin.setRaw(true);
  const onSignal = () => quit.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  const reader = raw ? readKeys(quit) : undefined;
  const c = palette(isTty());
  write("\x1b[?25l"); // hide the cursor
  let previous = first;
  let previousAt = firstAt;
  let problem: string | undefined;
  try {
    while (!quit.signal.aborted) {
      await sleep(interval, quit.signal);
      if (quit.signal.aborted) break;
      let screen: string;
      try {
        const stats = await fetchStats(url);
        const now = performance.now();
        const width = Deno.consoleSize().columns;
        screen = render(url, stats, previous, now - previousAt, c, width);
        previous = stats;
        previousAt = now;
        problem = undefined;
      } catch (error) {
        problem = errorJson(error).message;
        screen = render(url, previous, previous, 0, c, Deno.consoleSize().columns) +
          `\n${c.red(problem)}\n`;
      }
      write(`\x1b[2J\x1b[H${screen}${c.dim("q or Ctrl-C to quit")}`);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    if (raw) {
      try {
        Deno.stdin.setRaw(false);
      } catch {
        // stdin went away
      }
    }
    write("\x1b[?25h\n"); // show the cursor again
  }
  void reader;
  return 0;
}

/** Reads stdin (raw) until `q`, `Q` or Ctrl-C, then aborts `quit`. */
async function readKeys(quit: AbortController): Promise<void> {
  const buffer = new Uint8Array(64);
  while (!quit.signal.aborted) {
    let read: number | null;
    try {
      read = await Deno.stdin.read(buffer);
    } catch {
      break;
    }
    if (read === null) break;
    for (const byte of buffer.subarray(0, read)) {
      if (byte === 0x71 || byte === 0x51 || byte === 0x03) quit.abort();
    }
  }
}

function lastErrorText(error: ActorNode["lastError"]): string {
  if (error === undefined || error === null || error === "") return "";
  if (typeof error === "string") return error;
  return error.name ? `${error.name}: ${error.message}` : error.message;
}

/** Draws one screen: a header, then one row per node, indented by depth. */
export function render(
  url: string,
  stats: Stats,
  previous: Stats,
  elapsedMs: number,
  c: Palette,
  width: number,
): string {
  const before = new Map<string, number>();
  collect(previous.tree, (node) => {
    if (node.kind === "actor") before.set(node.path, node.processed);
  });
  const rows: string[][] = [];
  const colours: ((text: string) => string)[] = [];
  const walk = (node: TreeNode, depth: number) => {
    const id = node.path === "/" ? "/" : node.path.slice(node.path.lastIndexOf("/") + 1);
    const label = `${"  ".repeat(depth)}${id}`;
    if (node.kind === "supervisor") {
      rows.push([label, `[${node.strategy}]`, "", "", "", "", ""]);
      colours.push(c.bold);
      for (const child of node.children) walk(child, depth + 1);
      return;
    }
    const was = before.get(node.path);
    const rate = was === undefined || elapsedMs <= 0
      ? ""
      : ((node.processed - was) / (elapsedMs / 1000)).toFixed(1);
    rows.push([
      label,
      node.placement,
      node.status,
      String(node.mailboxDepth),
      rate,
      String(node.restarts),
      lastErrorText(node.lastError),
    ]);
    colours.push(
      node.status === "running"
        ? (text) => text
        : node.status === "crashed" || node.status === "down"
        ? c.red
        : c.yellow,
    );
    for (const child of node.children ?? []) walk(child, depth + 1);
  };
  walk(stats.tree, 0);
  const header = ["ACTOR", "PLACEMENT", "STATUS", "MAILBOX", "MSG/S", "RESTARTS", "LAST ERROR"];
  const widths = header.map((title, column) =>
    column === header.length - 1
      ? 0
      : Math.max(title.length, ...rows.map((row) => row[column].length))
  );
  const right = new Set([3, 4, 5]);
  const line = (cells: string[]) =>
    cells.map((cell, column) =>
      column === cells.length - 1
        ? cell
        : right.has(column)
        ? cell.padStart(widths[column])
        : cell.padEnd(widths[column])
    ).join("  ").trimEnd();
  const clip = (text: string) => width > 0 && text.length > width ? text.slice(0, width) : text;
  const time = typeof stats.time === "number" ? new Date(stats.time) : new Date(stats.time);
  const out = [
    c.bold(clip(`troupe top  ${stats.name}  ${url}`)),
    clip(
      `time ${
        isNaN(time.getTime()) ? String(stats.time) : time.toISOString()
      }  dead letters ${stats.deadLetters}  endpoints ${stats.endpoints}  abandoned threads ${stats.abandonedThreads}`,
    ),
    "",
    c.dim(clip(line(header))),
    ...rows.map((row, index) => colours[index](clip(line(row)))),
  ];
  return out.join("\n") + "\n";
}

function collect(node: TreeNode, visit: (node: TreeNode) => void): void {
  visit(node);
  for (const child of node.children ?? []) collect(child, visit);
}
