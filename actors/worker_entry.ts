/**
 * The entry point of every Troupe worker: a guest fed by `postMessage`.
 *
 * A worker is started from a tiny generated module that imports the actor's module statically
 * (so a worker with `read: false` can still load it) and calls {@linkcode serveWorker}; the host
 * builds it (`links/worker.ts`). This file
 * imports only guest-side code.
 *
 * @module
 */

import type { ToGuest } from "../mailbox/wire.ts";
import { whileLoading } from "./_loading.ts";
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
  const importing = new Map<string, Promise<Record<string, unknown>>>();
  const guest = new Guest({
    post: (frames, transfer) => scope.postMessage(frames, transfer),
    load: async (url, name) => {
      // One import per module: a dynamic import of a module already loaded still waits a turn of
      // the module loader, which thousands of spawns on a shared worker would pay one by one.
      let module = modules[url];
      if (module === undefined) {
        let pending = importing.get(url);
        if (pending === undefined) {
          pending = whileLoading(url, () => import(url));
          importing.set(url, pending);
          pending.catch(() => importing.delete(url)); // a failed import may be tried again
        }
        module = await pending;
        modules[url] = module;
      }
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
