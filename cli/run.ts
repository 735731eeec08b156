// `troupe run APP.ts`: starts the supervision tree an app module exports and reports its lifecycle.

import type { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { basename, dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ActorSystem } from "../supervisors/system.ts";
import { isSupervisorSpec, type SupervisorSpec } from "../supervisors/spec.ts";
import type { SystemEvent } from "../supervisors/events.ts";
import { runDenoChild } from "./_child.ts";
import {
  CliError,
  type Context,
  errorJson,
  firstLine,
  isTty,
  jsonLine,
  palette,
  parseInteger,
  reportError,
  write,
} from "./_output.ts";

/** Options of `troupe run`. */
export interface RunOptions {
  json?: boolean;
  observe?: number;
  shutdownTimeout?: number;
  verbose?: boolean;
}

/** What `system.observe` returns (served by the live-view module). */
interface Observer {
  url: string;
  port: number;
  close(): unknown;
}

type Observable = { observe?: (options: { port: number }) => Promise<Observer> };

/** A line the command prints besides the system's own events. */
type CliEvent =
  | { type: "observing"; path: "/"; url: string }
  | { type: "closed"; path: "/"; error: Error | undefined };

/** Registers `run` on the program. */
export function registerRun(program: Command, context: Context): void {
  program.command("run")
    .description("Start the supervision tree that APP.ts exports and print its lifecycle events")
    .argument("<app>", "a module whose default export is supervisor(…)")
    .option("--json", "one JSON object per line (the default when stdout is not a terminal)")
    .option("--observe <port>", "serve the live view on 127.0.0.1:PORT", parseInteger("port"))
    .option(
      "--shutdown-timeout <ms>",
      "how long each actor may take to stop on SIGINT/SIGTERM",
      parseInteger("shutdown timeout"),
    )
    .option("--verbose", "print stack traces of errors")
    .action(async (app, options) => {
      try {
        context.exitCode = await runApp(app, options);
      } catch (error) {
        reportError(error, options.verbose);
        context.exitCode = error instanceof CliError ? error.code : 1;
      }
    });
}

/** Loads APP.ts and returns its root supervisor spec, or throws a one-line `CliError`. */
export async function loadApp(file: string): Promise<SupervisorSpec> {
  const path = resolve(Deno.cwd(), file);
  const where = `Cannot run "${file}"`;
  try {
    if (!(await Deno.stat(path)).isFile) throw new CliError(`${where}: it is not a file`, 2);
  } catch (error) {
    if (error instanceof CliError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      throw new CliError(`${where}: no such file (${path})`, 2, { cause: error });
    }
    throw new CliError(`${where}: ${firstLine(String(error))}`, 2, { cause: error });
  }
  let module: Record<string, unknown>;
  try {
    module = await import(pathToFileURL(path).href);
  } catch (error) {
    const { name, message } = errorJson(error);
    throw new CliError(`${where}: importing it threw ${name}: ${firstLine(message)}`, 2, {
      cause: error,
    });
  }
  const root = module.default;
  if (!isSupervisorSpec(root)) {
    const received = !("default" in module)
      ? "no default export"
      : `a default export of type ${root === null ? "null" : typeof root}`;
    throw new CliError(
      `${where}: expected a default export made by supervisor() (export default supervisor({ children: [...] })), found ${received}`,
      2,
    );
  }
  return root;
}

/** Set on a `troupe run` started again under its app's deno.json, so it never relaunches twice. */
const RELAUNCHED = "TROUPE_RUN_UNDER_CONFIG";

/** The nearest deno.json or deno.jsonc from `dir` upwards, if any. */
function findConfig(dir: string): string | undefined {
  for (let at = dir;; at = dirname(at)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      try {
        if (Deno.statSync(join(at, name)).isFile) return join(at, name);
      } catch {
        // Not here: look further up.
      }
    }
    if (dirname(at) === at) return undefined;
  }
}

/**
 * An installed `troupe` runs with a configuration of its own, so an app's import map (its
 * `@troupe/troupe` and `zod` entries) does not apply to it. When the app's deno.json maps
 * specifiers this process cannot resolve, runs this command again under that deno.json, passing
 * the terminal, the signals and the exit code through; otherwise returns `undefined`.
 */
async function relaunchUnderConfig(file: string): Promise<number | undefined> {
  if (Deno.env.get(RELAUNCHED) !== undefined) return undefined;
  const config = findConfig(dirname(resolve(Deno.cwd(), file)));
  if (config === undefined) return undefined;
  let imports: Record<string, unknown>;
  try {
    imports = JSON.parse(Deno.readTextFileSync(config)).imports ?? {};
  } catch {
    return undefined; // deno.jsonc with comments, or unreadable: import the app as it is
  }
  const resolves = (specifier: string) => {
    try {
      import.meta.resolve(specifier);
      return true;
    } catch {
      return false;
    }
  };
  if (Object.keys(imports).every(resolves)) return undefined;
  // The terminal's Ctrl-C reaches the child itself; SIGTERM is passed on.
  return await runDenoChild(
    ["run", "-A", "--unstable-worker-options", "--config", config, Deno.mainModule, ...Deno.args],
    { env: { [RELAUNCHED]: config } },
  );
}

/** Runs an app until it shuts down; returns the exit code. */
export async function runApp(file: string, options: RunOptions): Promise<number> {
  const json = options.json === true || !Deno.stdout.isTerminal();
  if (
    options.observe !== undefined &&
    typeof (ActorSystem.prototype as Observable).observe !== "function"
  ) {
    throw new CliError("Cannot observe: this version of Troupe has no system.observe()", 2);
  }
  const relaunched = await relaunchUnderConfig(file);
  if (relaunched !== undefined) return relaunched;
  const root = await loadApp(file);
  const name = basename(file, extname(file)) || "app";
  const print = printer(json, options.verbose === true);
  const ownSignals = options.shutdownTimeout !== undefined;
  let system: ActorSystem;
  try {
    system = await ActorSystem.start({
      name,
      root,
      signals: ownSignals ? [] : ["SIGINT", "SIGTERM"],
    });
  } catch (error) {
    throw new CliError(`Cannot start "${file}": ${firstLine(errorJson(error).message)}`, 1, {
      cause: error,
    });
  }
  // Signals first: a signal that comes once the first line is out must find its handler.
  const removeSignals = ownSignals ? handleSignals(system, options.shutdownTimeout!) : () => {};
  // The tree's children started before `start` resolved: report them first, then what follows.
  for (const actor of system.stats().actors) {
    print({ type: "started", path: actor.path, placement: actor.placement });
  }
  const off = system.events.on(print);
  let observer: Observer | undefined;
  if (options.observe !== undefined) {
    try {
      observer = await (system as unknown as Required<Observable>).observe({
        port: options.observe,
      });
    } catch (error) {
      off();
      removeSignals();
      await system.shutdown();
      const reason = error instanceof Deno.errors.AddrInUse ||
          (error instanceof Error && error.cause instanceof Deno.errors.AddrInUse)
        ? "the port is already in use"
        : firstLine(errorJson(error).message);
      throw new CliError(`Cannot observe on port ${options.observe}: ${reason}`, 2, {
        cause: error,
      });
    }
    print({ type: "observing", path: "/", url: observer.url });
  }
  if (!json) {
    const c = palette(isTty());
    write(c.dim(`${name}: running; Ctrl-C or SIGTERM to stop\n`));
  }
  const error = await system.closed();
  off();
  removeSignals();
  await observer?.close();
  print({ type: "closed", path: "/", error });
  return error === undefined ? 0 : 1;
}

/** Handles SIGINT/SIGTERM itself, to pass `timeoutMs` to the shutdown; returns the remover. */
function handleSignals(system: ActorSystem, timeoutMs: number): () => void {
  let first: number | undefined;
  const onSignal = () => {
    const now = performance.now();
    if (first === undefined) {
      first = now;
      void system.shutdown({ timeoutMs });
    } else if (now - first >= 50) {
      Deno.exit(130); // a second signal, later: force it
    }
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, onSignal);
  return () => {
    for (const signal of signals) Deno.removeSignalListener(signal, onSignal);
  };
}

const COLOURS = {
  started: "green",
  restarted: "yellow",
  crashed: "red",
  hung: "red",
  escalated: "magenta",
  dead_letter: "yellow",
  stopped: "dim",
  shutdown: "cyan",
  observing: "cyan",
  closed: "cyan",
} as const;

/** Prints events: pretty and coloured on a terminal, one JSON object per line otherwise. */
function printer(json: boolean, verbose: boolean): (event: SystemEvent | CliEvent) => void {
  const c = palette(!json && isTty());
  return (event) => {
    const time = new Date();
    if (json) {
      write(`${jsonLine({ ...event, time: time.toISOString() })}\n`);
      return;
    }
    const clock = time.toTimeString().slice(0, 8) + "." +
      String(time.getMilliseconds()).padStart(3, "0");
    const colour = c[COLOURS[event.type]];
    let detail = "";
    let stack: string | undefined;
    switch (event.type) {
      case "started":
        detail = c.dim(event.placement);
        break;
      case "restarted":
        detail = `restart #${event.restarts}`;
        break;
      case "crashed":
      case "hung":
      case "escalated":
        detail = c.red(`${event.error.name}: ${firstLine(event.error.message)}`);
        stack = event.error.stack;
        break;
      case "dead_letter":
        detail = `${event.letter.kind} (${event.letter.reason})`;
        break;
      case "shutdown":
        detail = event.error ? c.red(`${event.error.name}: ${firstLine(event.error.message)}`) : "";
        break;
      case "observing":
        detail = c.bold(event.url);
        break;
      case "closed":
        detail = event.error
          ? c.red(`root failed: ${event.error.name}: ${firstLine(event.error.message)}`)
          : c.green("cleanly");
        stack = event.error?.stack;
        break;
    }
    write(
      `${c.dim(clock)}  ${colour(event.type.padEnd(11))} ${
        c.bold(event.path.padEnd(20))
      } ${detail}\n`,
    );
    if (verbose && stack) write(`${c.dim(stack)}\n`);
  };
}
