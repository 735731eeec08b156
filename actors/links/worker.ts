/**
 * The `"worker"` placement: one dedicated Deno Web Worker per actor, started from a generated
 * `data:` module that imports the actor's module statically and serves the guest
 * (`actors/worker_entry.ts`). The `"shared"` placement reuses this link (`shared.ts`).
 *
 * @module
 */

import { CLEAR_LOADING_SOURCE, markLoadingSource } from "../_loading.ts";
import type { Endpoint, Link, PlacementTraits } from "../endpoint.ts";

/**
 * A dedicated worker: one guest per actor, own heap and permissions, shared memory with the host;
 * not killable for certain, since `worker.terminate()` leaves a synchronous loop running.
 */
export const WORKER_TRAITS: PlacementTraits = Object.freeze({
  dedicated: true,
  killable: false,
  trusted: false,
  sharesMemory: true,
});

/** Options of {@linkcode workerLink}. */
export interface WorkerLinkOptions {
  /** The worker's name (the actor's path, or the shared worker's). */
  name: string;
  /** The worker's Deno permissions; the host's when undefined. */
  permissions?: Deno.PermissionOptions;
}

/** A link to a guest in a Deno Web Worker started from `url`. */
export function workerLink(endpoint: Endpoint, url: string, options: WorkerLinkOptions): Link {
  const workerOptions: WorkerOptions & { deno?: { permissions: Deno.PermissionOptions } } = {
    type: "module",
    name: options.name,
  };
  if (options.permissions !== undefined) {
    workerOptions.deno = { permissions: options.permissions };
  }
  const worker = new Worker(url, workerOptions);
  worker.onmessage = (event: MessageEvent<unknown>) => endpoint.receive(event.data);
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    const error = event.error instanceof Error ? event.error : new Error(event.message);
    endpoint.die(error);
  };
  worker.onmessageerror = () => {
    endpoint.die(new Error("A message from the worker could not be deserialized"));
  };
  return {
    post: (frames, transfer) => worker.postMessage(frames, transfer),
    terminate: () => worker.terminate(),
  };
}

/**
 * The URL of a worker entry module that imports `moduleUrl` statically, then serves.
 *
 * @param moduleUrl The actor's module, or none for a shared worker that imports on demand.
 */
export function workerEntryUrl(moduleUrl?: string): string {
  const entry = JSON.stringify(new URL("../worker_entry.ts", import.meta.url).href);
  const source = moduleUrl === undefined
    ? `import { serveWorker } from ${entry};\nserveWorker();\n`
    : markLoadingSource(moduleUrl) +
      `import * as m from ${JSON.stringify(moduleUrl)};\n` +
      `import { serveWorker } from ${entry};\n` +
      CLEAR_LOADING_SOURCE +
      `serveWorker({ ${JSON.stringify(moduleUrl)}: m });\n`;
  return `data:application/javascript,${encodeURIComponent(source)}`;
}
