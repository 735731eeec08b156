/**
 * Where actors run: the {@linkcode PLACEMENTS} table (each placement, its traits and the options
 * only it accepts), and the endpoints of one system: one per dedicated worker or subprocess, a
 * fixed set of shared workers that multiplex many actors each, one in-thread guest for local
 * actors, and warm spare workers for actors that asked for one.
 *
 * A placement is a link module in `links/` (how to reach its guest, and its traits), a row here,
 * and its opener in {@linkcode Placements}. The rest of Troupe reads traits, never names.
 *
 * @module
 */

import type { ActorCore } from "./actor.ts";
import { Endpoint, type Link, type PlacementTraits } from "./endpoint.ts";
import { type HeartbeatSettings, startHeartbeat } from "./_heartbeat.ts";
import { LOCAL_TRAITS, localLink } from "./links/local.ts";
import { PROCESS_TRAITS, processLink } from "./links/process.ts";
import { SHARED_TRAITS, sharedLink } from "./links/shared.ts";
import { WORKER_TRAITS, workerEntryUrl, workerLink } from "./links/worker.ts";

/** A spawn option that only some placements accept. */
export type PlacementOption = "permissions" | "spare" | "maxHeapMb";

/** One row of {@linkcode PLACEMENTS}. */
export interface PlacementRow {
  /** What the host may rely on about its guests (see {@linkcode PlacementTraits}). */
  readonly traits: PlacementTraits;
  /**
   * The placement-specific options it accepts; a spawn or child spec that sets another is refused.
   * A shared or local guest runs with its host's permissions: accepting `permissions` there would
   * silently grant them all to a caller who asked for a sandbox.
   */
  readonly options: readonly PlacementOption[];
}

/**
 * The shape of {@linkcode PLACEMENTS}: one row per placement. Its keys are the `Placement` type;
 * adding a placement adds a key here and a row there.
 */
export interface PlacementTable {
  /** The spawning thread's event loop. */
  readonly local: PlacementRow;
  /** A dedicated Deno Web Worker (the default). */
  readonly worker: PlacementRow;
  /** One of a fixed set of shared workers, many actors each. */
  readonly shared: PlacementRow;
  /** A `deno` subprocess. */
  readonly process: PlacementRow;
}

/**
 * Every placement, in the order error messages list them, with its traits (what the host may rely
 * on about its guests) and the placement-only options it accepts. The `Placement` type and the
 * spawn option schema's enum derive from its keys. Frozen.
 *
 * @example Which placements share memory with the host
 * ```ts
 * import { PLACEMENTS } from "@troupe/troupe/actors";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const sharing = Object.entries(PLACEMENTS)
 *   .filter(([, row]) => row.traits.sharesMemory)
 *   .map(([name]) => name);
 * deepEqual(sharing, ["local", "worker", "shared"]);
 * equal(PLACEMENTS.process.traits.killable, true);
 * ```
 */
export const PLACEMENTS: PlacementTable = Object.freeze({
  local: row(LOCAL_TRAITS),
  worker: row(WORKER_TRAITS, "permissions", "spare"),
  shared: row(SHARED_TRAITS),
  process: row(PROCESS_TRAITS, "permissions", "maxHeapMb"),
});

/** A frozen row of the table. */
function row(traits: PlacementTraits, ...options: PlacementOption[]): PlacementRow {
  return Object.freeze({ traits, options: Object.freeze(options) });
}

/** Where an actor runs: a key of {@linkcode PLACEMENTS}. */
export type Placement = keyof typeof PLACEMENTS;

/** The placements' names, in the table's order. */
export const PLACEMENT_NAMES = Object.keys(PLACEMENTS) as [Placement, ...Placement[]];

/** The placements that accept `option`, in the table's order. */
export function placementsAccepting(option: PlacementOption): Placement[] {
  return PLACEMENT_NAMES.filter((name) => PLACEMENTS[name].options.includes(option));
}

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

  /** How each placement finds or opens an endpoint for an actor: one opener per table row. */
  readonly #openers: { readonly [P in Placement]: (actor: ActorCore) => Endpoint } = {
    local: (actor) => this.#localEndpoint(actor),
    worker: (actor) =>
      actor.options.spare
        ? this.#takeSpare(actor)
        : this.#worker(actor.def.url, actor.path, actor.options.permissions),
    shared: () => this.#sharedEndpoint(),
    process: (actor) =>
      this.#open("process", actor.path, (endpoint) =>
        processLink(endpoint, {
          moduleUrl: actor.def.url,
          name: actor.path,
          permissions: actor.options.permissions,
          maxHeapMb: actor.options.maxHeapMb,
        })),
  };

  /** An endpoint for the actor's placement, spawning a worker when one is needed. */
  acquire = (actor: ActorCore): Endpoint => {
    if (this.#closed) throw new TypeError(`Cannot start ${actor.path}: the system has closed`);
    return this.#openers[actor.options.placement](actor);
  };

  /**
   * Starts the heartbeat loop over this system's endpoints (see `_heartbeat.ts`).
   *
   * @returns A function that stops it.
   */
  heartbeat(settings: HeartbeatSettings): () => void {
    return startHeartbeat(() => this.#endpoints, settings);
  }

  /** A new endpoint of `kind`, with the traits of its row, tracked until it closes. */
  #open(kind: Placement, label: string, connect: (endpoint: Endpoint) => Link): Endpoint {
    return this.#track(new Endpoint(kind, PLACEMENTS[kind].traits, label, connect));
  }

  #worker(moduleUrl: string, label: string, permissions?: Deno.PermissionOptions): Endpoint {
    return this.#open(
      "worker",
      label,
      (endpoint) => workerLink(endpoint, workerEntryUrl(moduleUrl), { name: label, permissions }),
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
    this.#local = this.#open("local", "local", (endpoint) => {
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
    });
    return this.#local;
  }

  #sharedEndpoint(): Endpoint {
    this.#shared = this.#shared.filter((endpoint) => endpoint.alive);
    if (this.#shared.length < this.#sharedSize) {
      const name = `troupe-shared-${this.#nextShared++}`;
      const endpoint = this.#open("shared", name, (endpoint) => sharedLink(endpoint, name));
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
