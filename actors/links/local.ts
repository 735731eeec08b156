/**
 * The `"local"` placement: the guest runs on the host's own thread, and frames are handed over
 * without cloning.
 *
 * This is the one host-side module that imports guest code (`guest.ts`): by nature it runs a
 * `Guest` here. Every other host file reaches the guest only through a {@linkcode Link}.
 *
 * @module
 */

import type { Endpoint, Link, PlacementTraits } from "../endpoint.ts";
import { Guest, type GuestPort } from "../guest.ts";

/**
 * The host's own thread: many actors per guest, trusted (Troupe's own code on this thread), shares
 * memory; not killable (ending it cannot stop a handler that blocks this very thread).
 */
export const LOCAL_TRAITS: PlacementTraits = Object.freeze({
  dedicated: false,
  killable: false,
  trusted: true,
  sharesMemory: true,
});

/** A link to a guest on the host's own thread: frames are handed over without cloning. */
export function localLink(endpoint: Endpoint, load: GuestPort["load"]): Link {
  let open = true;
  const guest = new Guest({
    post: (frames) => {
      if (open) endpoint.receive(frames);
    },
    load,
  });
  return {
    post: (frames) => guest.receive(frames),
    terminate: () => {
      open = false;
    },
  };
}
