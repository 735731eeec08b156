import { InvalidArgumentError } from "npm:@commander-js/extra-typings@15.1.0";

// Shared helpers of the `troupe` command: colours that vanish off a terminal, one-line errors,
// JSON-safe errors, and the locations of the repository's folders.

/** Whether to colour and redraw: stdout is a terminal and NO_COLOR is not set. */
export function isTty(stream: { isTerminal(): boolean } = Deno.stdout): boolean {
  return stream.isTerminal() && !Deno.env.get("NO_COLOR");
}

/** ANSI colour helpers; each returns the text untouched when `enabled` is false. */
export function palette(enabled: boolean) {
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    blue: wrap(34, 39),
    magenta: wrap(35, 39),
    cyan: wrap(36, 39),
  };
}

/** The colour helpers' type. */
export type Palette = ReturnType<typeof palette>;

const encoder = new TextEncoder();

/** Writes text to stdout as is (no newline added). */
export function write(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text));
}

/** Writes text to stderr as is (no newline added). */
export function writeErr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** A usage or setup error the command reports in one line, then exits with `code`. */
export class CliError extends Error {
  /** The exit code. */
  readonly code: number;
  constructor(message: string, code: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "CliError";
    this.code = code;
  }
}

/** Reports a one-line error on stderr (the stack of its cause too when `verbose`). */
export function reportError(error: unknown, verbose = false): void {
  const message = error instanceof Error ? error.message : String(error);
  writeErr(`error: ${message}\n`);
  if (verbose) {
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    if (cause instanceof Error && cause.stack) writeErr(`${cause.stack}\n`);
  }
}

/** An error as plain JSON data. */
export function errorJson(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  if (typeof error === "object" && error !== null && "message" in error) {
    const record = error as { name?: unknown; message?: unknown };
    return { name: String(record.name ?? "Error"), message: String(record.message) };
  }
  return { name: "Error", message: String(error) };
}

/** The first line of an error's message, for one-line reports. */
export function firstLine(text: string): string {
  return text.split("\n", 1)[0];
}

/** A folder of the repository next to `cli/` (`examples`, `bench`), or undefined when absent. */
export function repoFolder(name: string): string | undefined {
  const url = new URL(`../${name}/`, import.meta.url);
  if (url.protocol !== "file:") return undefined;
  try {
    const path = decodeURIComponent(url.pathname);
    return Deno.statSync(path).isDirectory ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The usage error (exit 2) of a command that needs a checkout of the repository (`examples`,
 * `bench`) when run from an installed package that has none beside it.
 */
export function needsCheckout(command: string, folder: string): CliError {
  return new CliError(
    `Cannot run "troupe ${command}": it needs a checkout of the Troupe repository, and there is ` +
      `no ${folder}/ folder beside this command (${new URL("..", import.meta.url).href}); ` +
      `clone the repository and run "deno task troupe ${command}" in it`,
    2,
  );
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Parses a non-negative integer option, naming it in the error. */
export function parseInteger(name: string, min = 0) {
  return (value: string): number => {
    const number = Number(value);
    if (!Number.isInteger(number) || number < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    }
    return number;
  };
}

/** What a command's action leaves for `main` to return. */
export interface Context {
  /** The exit code. */
  exitCode: number;
}

/** Serializes a value to one JSON line: errors as `{name, message}`, bigints as strings. */
export function jsonLine(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, item) => {
    if (item instanceof Error) return errorJson(item);
    if (typeof item === "bigint") return item.toString();
    if (typeof item === "object" && item !== null) {
      if (seen.has(item)) return "[circular]";
      seen.add(item);
    }
    return item === undefined ? undefined : item;
  });
}
