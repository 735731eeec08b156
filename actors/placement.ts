/**
 * Where actors run: one endpoint per dedicated worker or subprocess, a fixed set of shared workers
 * that multiplex many actors each, one in-thread guest for `"local"` actors, and warm spare
 * workers for actors that asked for one.
 *
 * @module
 */

import type { ActorCore } from "./actor.ts";
import { Endpoint, localLink, workerLink } from "./endpoint.ts";
import { processLink } from "./process_link.ts";
import { workerEntryUrl } from "./worker_entry.ts";

/** How long after a spare is taken the next one starts, in milliseconds. */
const SPARE_DELAY_MS = 50;

/** The endpoints of one actor system. */
export class Placements {
  readonly #sharedSize: number;
  /**
   * The live `"local"` actors by path. Their guest finds a definition by the actor's path, not by
   * `url#name`: a test probe shares its `url#name` with the definition it stands in for.
   */
  readonly #locals = new Map<string, ActorCore>();
  readonly #endpoints = new Set<Endpoint>();
  readonly #spares = new Map<string, Endpoint>();
  /** Dead endpoints whose worker is terminated a little later (it announced its own exit). */
  readonly #finishing = new Set<Endpoint>();
  #shared: Endpoint[] = [];
  #local: Endpoint | undefined;
  #nextShared = 0;
  #closed = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

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
    if (this.#closed) throw new TypeError(`Cannot start ${actor.path}: the system has closed`);
    switch (actor.options.placement) {
      case "local":
        return this.#localEndpoint(actor);
      case "worker":
        return actor.options.spare
          ? this.#takeSpare(actor)
          : this.#worker(actor.def.url, actor.path, actor.options.permissions);
      case "shared":
        return this.#sharedEndpoint();
      case "process":
        return this.#track(
          new Endpoint("process", actor.path, (endpoint) =>
            processLink(endpoint, {
              moduleUrl: actor.def.url,
              name: actor.path,
              permissions: actor.options.permissions,
              maxHeapMb: actor.options.maxHeapMb,
            })),
        );
    }
  };

  #worker(moduleUrl: string, label: string, permissions?: Deno.PermissionOptions): Endpoint {
    return this.#track(
      new Endpoint(
        "worker",
        label,
        (endpoint) => workerLink(endpoint, workerEntryUrl(moduleUrl), { name: label, permissions }),
      ),
    );
  }

  /** Hands over the warm spare for this module (or a new worker), and warms the next one. */
  #takeSpare(actor: ActorCore): Endpoint {
    const key = `${actor.def.url}|${JSON.stringify(actor.options.permissions ?? null)}`;
    const spare = this.#spares.get(key);
    this.#spares.delete(key);
    const endpoint = spare?.alive
      ? spare
      : this.#worker(actor.def.url, actor.path, actor.options.permissions);
    // `new Worker()` blocks this thread for ~14 ms: start the next spare a little later, so that
    // the actor that just took this one is answering before then.
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#closed || this.#spares.has(key)) return;
      const next = this.#worker(actor.def.url, `${actor.path} (spare)`, actor.options.permissions);
      // It loads the actor's module and compiles its schemas now, not when it is needed.
      next.post({ t: "warm", url: actor.def.url, name: actor.def.name });
      this.#spares.set(key, next);
    }, SPARE_DELAY_MS);
    this.#timers.add(timer);
    return endpoint;
  }

  #localEndpoint(actor: ActorCore): Endpoint {
    const { path } = actor;
    this.#locals.set(path, actor);
    actor.stopped().then(() => {
      if (this.#locals.get(path) === actor) this.#locals.delete(path);
    });
    if (this.#local?.alive) return this.#local;
    this.#local = this.#track(
      new Endpoint("local", "local", (endpoint) => {
        const link = localLink(endpoint, (key, name) => {
          const found = this.#locals.get(key)?.def;
          if (found === undefined) throw new TypeError(`No local definition "${name}" for ${key}`);
          return Promise.resolve(found);
        });
        return {
          // The guest loads a definition by the spawn frame's `url`: here, the actor's path.
          post: (frames, transfer) => {
            for (let i = 0; i < frames.length; i++) {
              const frame = frames[i];
              if (frame.t === "spawn") frames[i] = { ...frame, url: frame.path };
            }
            link.post(frames, transfer);
          },
          terminate: link.terminate,
        };
      }),
    );
    return this.#local;
  }

  #sharedEndpoint(): Endpoint {
    this.#shared = this.#shared.filter((endpoint) => endpoint.alive);
    if (this.#shared.length < this.#sharedSize) {
      const name = `troupe-shared-${this.#nextShared++}`;
      const endpoint = this.#track(
        new Endpoint(
          "shared",
          name,
          (endpoint) => workerLink(endpoint, workerEntryUrl(), { name }),
        ),
      );
      this.#shared.push(endpoint);
      return endpoint;
    }
    let best = this.#shared[0];
    for (const endpoint of this.#shared) if (endpoint.size < best.size) best = endpoint;
    return best;
  }

  #track(endpoint: Endpoint): Endpoint {
    this.#endpoints.add(endpoint);
    endpoint.onClose = (closed) => {
      this.#endpoints.delete(closed);
      if (closed.finishing) this.#finishing.add(closed);
    };
    endpoint.onFinish = (finished) => this.#finishing.delete(finished);
    return endpoint;
  }

  /** Ends every guest at once. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const endpoint of [...this.#endpoints]) endpoint.close();
    for (const endpoint of [...this.#finishing]) endpoint.finish();
    this.#spares.clear();
    this.#shared = [];
    this.#local = undefined;
    this.#locals.clear();
  }
}
