/**
 * The entry point of every Troupe worker: a guest fed by `postMessage`.
 *
 * A worker is started from a tiny generated module that imports the actor's module statically
 * (so a worker with `read: false` can still load it) and calls {@linkcode serveWorker}. This file
 * imports only guest-side code.
 *
 * @module
 */

import type { ToGuest } from "../mailbox/wire.ts";
import { CLEAR_LOADING_SOURCE, markLoadingSource, whileLoading } from "./_loading.ts";
import { isActorDefinition } from "./define.ts";
import type { ActorDefinition } from "./define.ts";
import { Guest, reportUncaught } from "./guest.ts";

/**
 * Finds the actor definition named `name` among a module's exports.
 *
 * @throws {TypeError} When the module exports no definition of that name.
 */
export function findDefinition(
  module: Record<string, unknown>,
  url: string,
  name: string,
): ActorDefinition {
  for (const value of Object.values(module)) {
    if (isActorDefinition(value) && value.name === name) return value;
  }
  throw new TypeError(`Module ${url} does not export an actor named "${name}"`);
}

/**
 * Serves the guest side of the wire in this worker.
 *
 * @param modules Modules already imported, by URL; others are imported on demand.
 */
export function serveWorker(modules: Record<string, Record<string, unknown>> = {}): void {
  const scope = globalThis as unknown as {
    postMessage(data: unknown, transfer: Transferable[]): void;
    onmessage: ((event: MessageEvent<ToGuest[]>) => void) | null;
  };
  const guest = new Guest({
    post: (frames, transfer) => scope.postMessage(frames, transfer),
    load: async (url, name) => {
      const module = modules[url] ?? await whileLoading(url, () => import(url));
      return findDefinition(module, url, name);
    },
  });
  scope.onmessage = (event) => guest.receive(event.data);
  // Deno tells the parent nothing when a worker closes itself or calls Deno.exit(): say it first,
  // after the acks of what was handled, and start nothing more (the host redelivers the rest).
  const notice = (code: number) => {
    guest.halt();
    try {
      guest.flush();
    } catch {
      // exiting anyway
    }
    scope.postMessage([{ t: "exit", code }], []);
  };
  const close = (globalThis as unknown as { close(): void }).close.bind(globalThis);
  (globalThis as unknown as { close(): void }).close = () => {
    notice(0);
    close();
  };
  const exit = Deno.exit.bind(Deno);
  Deno.exit = (code?: number): never => {
    notice(code ?? 0);
    return exit(code);
  };
  reportUncaught(guest);
}

/**
 * The URL of a worker entry module that imports `moduleUrl` statically, then serves.
 *
 * @param moduleUrl The actor's module, or none for a shared worker that imports on demand.
 */
export function workerEntryUrl(moduleUrl?: string): string {
  const entry = JSON.stringify(new URL("./worker_entry.ts", import.meta.url).href);
  const source = moduleUrl === undefined
    ? `import { serveWorker } from ${entry};\nserveWorker();\n`
    : markLoadingSource(moduleUrl) +
      `import * as m from ${JSON.stringify(moduleUrl)};\n` +
      `import { serveWorker } from ${entry};\n` +
      CLEAR_LOADING_SOURCE +
      `serveWorker({ ${JSON.stringify(moduleUrl)}: m });\n`;
  return `data:application/javascript,${encodeURIComponent(source)}`;
}
