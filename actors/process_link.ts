/**
 * A link to a guest in a `deno` subprocess: killable for certain (SIGKILL), with its own heap limit
 * and permission flags.
 *
 * @module
 */

import type { Endpoint, Link } from "./endpoint.ts";

/** Options of {@linkcode processLink}. */
export interface ProcessLinkOptions {
  /** The actor's module, imported statically by the subprocess's entry. */
  moduleUrl: string;
  /** A name for logs (the actor's path). */
  name: string;
  /** The subprocess's permissions; none but read access to its modules by default. */
  permissions: Deno.PermissionOptions | undefined;
  /** The V8 old-space limit in MiB. */
  maxHeapMb: number | undefined;
}

/** Starts a subprocess guest and links it to `endpoint`. */
export function processLink(_endpoint: Endpoint, _options: ProcessLinkOptions): Link {
  throw new Error("The process placement is not built yet");
}
