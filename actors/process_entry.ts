/**
 * The entry point of a `"process"` subprocess: a guest fed by frames on stdin that answers on
 * stdout, through the pipe codec of `mailbox/pipe.ts`.
 *
 * ```
 *   host (actors/links/process.ts)                     subprocess (this file)
 *   Endpoint ─post─▶ encode ─▶ child stdin ══════════▶ FrameReader ─▶ Guest.receive
 *   Endpoint ◀─receive─ FrameReader ◀═══ child stdout ◀═ encode ◀─ Guest port.post
 * ```
 *
 * The subprocess is started from a generated `data:` module that imports the actor's module
 * statically (no read permission needed) and calls {@linkcode serveProcess}; the host builds it
 * (`links/process.ts`). Importing this file has no side effect. It imports only guest-side code.
 *
 * @module
 */

import { Console } from "node:console";
import process from "node:process";
import type { ToGuest, ToHost } from "../mailbox/wire.ts";
import { REPLY_INVALID, serializeError } from "../mailbox/wire.ts";
import { encodeFrames, FrameReader } from "../mailbox/pipe.ts";
import { whileLoading } from "./_loading.ts";
import { Guest, reportUncaught } from "./guest.ts";
import { findDefinition } from "./worker_entry.ts";
import { SLOT_BYTES } from "./_slot.ts";

/**
 * Serves the guest side of the wire in this subprocess: frames from stdin, frames to stdout.
 *
 * stdout belongs to the wire, so this first sends everything else that would write there to
 * stderr: `console.log`, `info`, `debug`, `dir` and `dirxml` (as `console.error` formats them),
 * `console.table`, `count`, `countReset`, `time`, `timeLog` and `timeEnd` (through a `node:console`
 * `Console` on stderr), and `Deno.stdout`'s `write`, `writeSync` and `writable` (and with them
 * `node:process`'s `stdout`). The subprocess exits when stdin closes (the host ended it or died).
 *
 * @param modules Modules already imported, by URL; others are imported on demand.
 */
export function serveProcess(modules: Record<string, Record<string, unknown>> = {}): void {
  const writeWire = takeStdout();
  /** The local stand-ins for each actor's stop flag: shared memory cannot cross a process. */
  const stopFlags = new Map<number, Int32Array>();

  const guest = new Guest({
    post: (frames) => writeWire(encodeForHost(frames)),
    load: async (url, name) => {
      const module = modules[url] ?? await whileLoading(url, () => import(url));
      return findDefinition(module, url, name);
    },
  });

  const reader = new FrameReader<ToGuest>((frames) => {
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i];
      if (frame.t === "spawn") {
        const stop = new SharedArrayBuffer(SLOT_BYTES);
        stopFlags.set(frame.id, new Int32Array(stop));
        frames[i] = { ...frame, stop };
      } else if (frame.t === "stop" || frame.t === "fence") {
        // Seen by `ctx.shouldStop()` once the running handler yields to the event loop.
        const flag = stopFlags.get(frame.id);
        if (flag !== undefined) Atomics.store(flag, 0, 1);
        stopFlags.delete(frame.id);
      }
    }
    try {
      guest.receive(frames);
    } catch (error) {
      guest.fault(error);
    }
  }, (bytes) => Deno.stderr.writeSync(bytes));

  reportUncaught(guest);
  // A handler's Deno.exit(): the acks of what was handled leave first (the writes are synchronous),
  // and nothing more starts.
  const exit = Deno.exit.bind(Deno);
  let exiting = false;
  Deno.exit = (code?: number): never => {
    if (!exiting) {
      exiting = true; // a failed write exits too: flush once
      guest.halt();
      try {
        guest.flush();
      } catch {
        // exiting anyway
      }
    }
    return exit(code);
  };

  void readStdin(reader);
}

async function readStdin(reader: FrameReader<ToGuest>): Promise<void> {
  const buffer = new Uint8Array(256 * 1024);
  while (true) {
    let n: number | null;
    try {
      n = await Deno.stdin.read(buffer);
    } catch {
      n = null;
    }
    if (n === null) Deno.exit(0); // the host closed the pipe: it is gone or wants us gone
    try {
      reader.push(buffer.subarray(0, n));
    } catch (error) {
      // A message that does not decode: the wire cannot be trusted any more.
      console.error(`A Troupe subprocess received a corrupt message: ${error}`);
      Deno.exit(70);
    }
  }
}

/**
 * Encodes the guest's frames. A batch that cannot be serialized is retried frame by frame, and a
 * `replies` frame whose values cannot be serialized gets an error in place of each bad reply;
 * other frames that fail are thrown for the guest to report.
 */
function encodeForHost(frames: ToHost[]): Uint8Array {
  try {
    return encodeFrames(frames);
  } catch (error) {
    const parts: Uint8Array[] = [];
    for (const frame of frames) {
      try {
        parts.push(encodeFrames([frame]));
      } catch {
        if (frame.t !== "replies") throw error;
        parts.push(encodeFrames([{ ...frame, r: replaceUnserializable(frame.r) }]));
      }
    }
    return concat(parts);
  }
}

function replaceUnserializable(r: readonly unknown[]): unknown[] {
  const out = r.slice();
  for (let i = 0; i < out.length; i += 3) {
    try {
      encodeFrames([out[i + 2]]);
    } catch (cause) {
      out[i + 1] = REPLY_INVALID;
      out[i + 2] = serializeError(
        new TypeError("Cannot send reply: it could not be serialized for the host", { cause }),
      );
    }
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  let size = 0;
  for (const part of parts) size += part.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/**
 * Keeps the real stdout for the wire and points everything else that writes there at stderr.
 *
 * @returns A function that writes all of its bytes to the real stdout, or exits the process if the
 * host has gone.
 */
function takeStdout(): (bytes: Uint8Array) => void {
  const stdout = Deno.stdout;
  const writeSync = stdout.writeSync.bind(stdout);
  const stderr = Deno.stderr;
  Object.defineProperties(stdout, {
    write: { value: (p: Uint8Array) => stderr.write(p), configurable: true, writable: true },
    writeSync: {
      value: (p: Uint8Array) => stderr.writeSync(p),
      configurable: true,
      writable: true,
    },
    writable: { get: () => stderr.writable, configurable: true },
  });
  // `console` prints to stdout from these methods; the others already print to stderr.
  const error = console.error.bind(console);
  const methods = console as unknown as Record<string, (...args: unknown[]) => void>;
  for (const key of ["log", "info", "debug", "dirxml"]) methods[key] = error;
  const colors = !Deno.noColor && Deno.stderr.isTerminal();
  methods.dir = (item: unknown, options?: unknown) =>
    error(Deno.inspect(item, { colors, ...options as Deno.InspectOptions }));
  // Tables, counters and timers have state and formatting of their own: a console on stderr.
  const onStderr = new Console({ stdout: process.stderr, stderr: process.stderr });
  const other = onStderr as unknown as Record<string, (...args: unknown[]) => void>;
  for (const key of ["table", "count", "countReset", "time", "timeLog", "timeEnd"]) {
    methods[key] = other[key].bind(onStderr);
  }
  return (bytes) => {
    try {
      let at = 0;
      while (at < bytes.byteLength) at += writeSync(bytes.subarray(at));
    } catch {
      Deno.exit(0); // the host closed its end: nothing is listening any more
    }
  };
}
