/**
 * The `"shared"` placement: a fixed set of Web Workers, each running the guests of many actors
 * (M:N). The link is the worker link (`worker.ts`) over an entry that imports actor modules on
 * demand; the placement layer spreads actors over the set.
 *
 * @module
 */

import type { Endpoint, Link, PlacementTraits } from "../endpoint.ts";
import { workerEntryUrl, workerLink } from "./worker.ts";

/**
 * A shared worker: many actors per guest (not dedicated), shared memory with the host, not
 * killable for certain (as any Web Worker).
 */
export const SHARED_TRAITS: PlacementTraits = Object.freeze({
  dedicated: false,
  killable: false,
  trusted: false,
  sharesMemory: true,
});

/** A link to a new shared worker named `name`, with the host's permissions. */
export function sharedLink(endpoint: Endpoint, name: string): Link {
  return workerLink(endpoint, workerEntryUrl(), { name });
}
