// Shared by the restart benchmark.
export { ActorSystem, child, supervisor } from "../mod.ts";
import type { ActorSystem } from "../mod.ts";

/** Resolves at the next `crashed` event. */
export function nextCrash(system: ActorSystem): Promise<void> {
  return new Promise((resolve) => {
    const off = system.events.on((event) => {
      if (event.type === "crashed") {
        off();
        resolve();
      }
    });
  });
}
