/**
 * Where actors run: one endpoint per dedicated worker, a fixed set of shared workers that
 * multiplex many actors each, and one in-thread guest for `"local"` actors.
 *
 * @module
 */

import type { ActorCore } from "./actor.ts";
import type { ActorDefinition } from "./define.ts";
import { Endpoint, localLink, workerLink } from "./endpoint.ts";
import { workerEntryUrl } from "./worker_entry.ts";
import { processLink } from "./process_link.ts";

/** The endpoints of one actor system. */
export class Placements {
  readonly #sharedSize: number;
  readonly #definitions = new Map<string, ActorDefinition>();
  readonly #endpoints = new Set<Endpoint>();
  #shared: Endpoint[] = [];
  #local: Endpoint | undefined;
  #nextShared = 0;

  /** @param sharedWorkers How many shared workers `"shared"` actors are spread over. */
  constructor(sharedWorkers: number) {
    this.#sharedSize = sharedWorkers;
  }

  /** Every live endpoint. */
  get endpoints(): ReadonlySet<Endpoint> {
    return this.#endpoints;
  }

  /** An endpoint for the actor's placement, spawning a worker when one is needed. */
  acquire = (actor: ActorCore): Endpoint => {
    switch (actor.options.placement) {
      case "local":
        this.#definitions.set(`${actor.def.url}#${actor.def.name}`, actor.def);
        if (this.#local?.alive) return this.#local;
        this.#local = this.#track(
          new Endpoint("local", (endpoint) =>
            localLink(endpoint, (url, name) => {
              const def = this.#definitions.get(`${url}#${name}`);
              if (def === undefined) throw new TypeError(`No local definition "${name}" at ${url}`);
              return Promise.resolve(def);
            })),
        );
        return this.#local;
      case "worker":
        return this.#track(
          new Endpoint("worker", (endpoint) =>
            workerLink(endpoint, workerEntryUrl(actor.def.url), {
              name: actor.path,
              permissions: actor.options.permissions,
            })),
        );
      case "shared":
        return this.#sharedEndpoint();
      case "process":
        return this.#track(new Endpoint("process", (endpoint) =>
          processLink(endpoint, {
            moduleUrl: actor.def.url,
            name: actor.path,
            permissions: actor.options.permissions,
            maxHeapMb: actor.options.maxHeapMb,
          })));
    }
  };

  #sharedEndpoint(): Endpoint {
    this.#shared = this.#shared.filter((endpoint) => endpoint.alive);
    if (this.#shared.length < this.#sharedSize) {
      const endpoint = this.#track(
        new Endpoint(
          "shared",
          (endpoint) =>
            workerLink(endpoint, workerEntryUrl(), {
              name: `troupe-shared-${this.#shared.length}`,
            }),
        ),
      );
      this.#shared.push(endpoint);
      return endpoint;
    }
    let best = this.#shared[this.#nextShared++ % this.#shared.length];
    for (const endpoint of this.#shared) if (endpoint.size < best.size) best = endpoint;
    return best;
  }

  #track(endpoint: Endpoint): Endpoint {
    this.#endpoints.add(endpoint);
    endpoint.onClose = (closed) => this.#endpoints.delete(closed);
    return endpoint;
  }

  /** Ends every guest at once. */
  close(): void {
    for (const endpoint of [...this.#endpoints]) endpoint.close();
    this.#shared = [];
    this.#local = undefined;
  }
}
