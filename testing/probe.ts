/**
 * `TestProbe`: an actor that records what it receives, to hand to the code under test wherever a
 * ref of some protocol is expected, and then to assert on what that code sent.
 *
 * @module
 */

import { AssertionError } from "node:assert";
import {
  type ActorDefinition,
  type AskKeys,
  defineActor,
  type HandlerResult,
  type Parsed,
  type Protocol,
} from "../actors/define.ts";
import type { ActorRef } from "../actors/ref.ts";
import type { ActorSystem } from "../supervisors/system.ts";

// The probe's waits keep the real clock under FakeTime, which is installed after this module loads.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** How long {@linkcode TestProbe.expectMessage} waits by default, in milliseconds. */
const DEFAULT_EXPECT_MS = 3_000;
/** How long {@linkcode TestProbe.expectNoMessage} watches by default, in milliseconds. */
const DEFAULT_QUIET_MS = 100;

/**
 * A message a probe received: its kind and its payload as the schema parsed it.
 *
 * @typeParam P The protocol.
 */
export type ReceivedMessage<P extends Protocol> = {
  [K in keyof P & string]: { readonly kind: K; readonly msg: Parsed<P[K]> };
}[keyof P & string];

/** Options of {@linkcode TestProbe.spawn}. */
export interface TestProbeOptions {
  /**
   * The probe's id under the root supervisor.
   *
   * @default {`${def.name}-probe`, numbered if taken}
   */
  name?: string;
}

/** Options of {@linkcode TestProbe.expectMessage}. */
export interface ExpectOptions {
  /**
   * How long to wait for the message, in milliseconds of real time (fake time does not stop it).
   *
   * @default {3000}
   */
  timeoutMs?: number;
}

interface Waiter {
  /** Called on each new message and when time is up; returns whether the wait is over. */
  check(timedOut: boolean): boolean;
}

/**
 * An actor that records every message it receives, for the protocol of an actor definition, so a
 * test can pass `probe.ref` wherever a ref of that protocol is expected and then assert on what
 * arrived. Tells are recorded; asks are recorded too and answered by the responder set with
 * {@linkcode TestProbe.reply} for their kind.
 *
 * The probe runs on the test's thread (`"local"` placement) under the system's root supervisor. Its
 * definition carries the same `url` and `name` as the one it stands in for, so wherever a ref is
 * checked by the definition's identity (`url#name`) the probe passes for it; `system.lookup` still
 * tells them apart (it compares definitions themselves).
 *
 * An ask of a kind with no responder fails: it rejects with an `Error` naming the probe and the
 * kind. As any failing handler, that is a crash of the probe, which its supervisor restarts; what
 * it recorded is kept (in the probe object, not in the actor's state).
 *
 * @typeParam P The protocol.
 *
 * @example A probe in place of a real actor
 * ```ts
 * import { ActorSystem, ask, defineActor } from "@troupe/troupe";
 * import { TestProbe } from "@troupe/troupe/testing";
 * import { z } from "zod";
 * import { deepEqual, equal } from "node:assert/strict";
 *
 * const Store = defineActor({
 *   name: "store",
 *   url: import.meta.url,
 *   protocol: { put: z.object({ key: z.string() }), size: ask(z.object({}), z.number()) },
 *   init: () => ({ keys: new Set<string>() }),
 *   handlers: {
 *     put: (state, msg) => void state.keys.add(msg.key),
 *     size: (state) => state.keys.size,
 *   },
 * });
 *
 * await using system = await ActorSystem.start({ name: "probe-example" });
 * await using probe = await TestProbe.spawn(system, Store);
 * probe.reply("size", () => 7);
 *
 * probe.ref.tell("put", { key: "a" }); // the code under test would do this
 * equal(await probe.ref.ask("size", {}), 7);
 *
 * deepEqual(await probe.expectMessage("put"), { key: "a" });
 * deepEqual(await probe.expectMessage("size"), {});
 * await probe.expectNoMessage(20);
 * ```
 */
export class TestProbe<P extends Protocol> implements AsyncDisposable {
  /** The probe's ref, typed as a ref to the actor it stands in for. */
  readonly ref: ActorRef<P>;
  readonly #received: ReceivedMessage<P>[];
  readonly #responders: Map<string, (msg: unknown) => unknown>;
  readonly #waiters: Set<Waiter>;
  #next = 0;

  private constructor(
    ref: ActorRef<P>,
    received: ReceivedMessage<P>[],
    responders: Map<string, (msg: unknown) => unknown>,
    waiters: Set<Waiter>,
  ) {
    this.ref = ref;
    this.#received = received;
    this.#responders = responders;
    this.#waiters = waiters;
  }

  /**
   * Spawns a probe for the protocol of `def`.
   *
   * @typeParam P The protocol.
   * @typeParam A The arguments of `def`'s `init` (the probe takes none).
   * @typeParam S The state of `def` (the probe has its own).
   * @param system The system to spawn it in.
   * @param def The definition whose protocol the probe speaks, and whose `url` and `name` it
   *   carries.
   * @param options The probe's name.
   * @returns The probe, once it runs.
   * @throws {TypeError} When `def` is not an actor definition or the name is taken.
   */
  static async spawn<P extends Protocol, A, S>(
    system: ActorSystem,
    def: ActorDefinition<P, A, S>,
    options: TestProbeOptions = {},
  ): Promise<TestProbe<P>> {
    if (typeof def !== "object" || def === null || def["~troupe"] !== "actor") {
      throw new TypeError("Cannot spawn a test probe: def must be an actor definition");
    }
    const name = options.name ?? freeName(system, `${def.name}-probe`);
    const received: ReceivedMessage<P>[] = [];
    const responders = new Map<string, (msg: unknown) => unknown>();
    const waiters = new Set<Waiter>();
    const handlers: Record<
      string,
      (state: unknown, msg: unknown, ctx: { path: string }) => unknown
    > = {};
    for (const kind of def.kinds) {
      const isAsk = (def.protocol[kind] as { "~troupe"?: string })["~troupe"] === "ask";
      handlers[kind] = (_state, msg, ctx) => {
        received.push({ kind, msg } as ReceivedMessage<P>);
        for (const waiter of [...waiters]) if (waiter.check(false)) waiters.delete(waiter);
        if (!isAsk) return;
        const responder = responders.get(kind);
        if (responder === undefined) {
          throw new Error(
            `Test probe ${ctx.path} has no reply for "${kind}": call probe.reply("${kind}", …)`,
          );
        }
        return responder(msg);
      };
    }
    const probeDef = defineActor({
      name: def.name,
      url: def.url,
      protocol: def.protocol,
      init: () => ({}),
      handlers: handlers as ActorDefinition<P, undefined, object>["handlers"],
    });
    const ref = await system.spawn(probeDef, { name, placement: "local" });
    return new TestProbe(ref, received, responders, waiters);
  }

  /** Every message received so far, oldest first, whether an expectation consumed it or not. */
  get received(): readonly ReceivedMessage<P>[] {
    return this.#received;
  }

  /**
   * Answers the asks of `kind` with what `responder` returns (or resolves to), from now on; the
   * reply is validated against the kind's reply schema. A responder that throws fails the ask with
   * its error (and, as any failing handler, crashes the probe, which restarts).
   *
   * @typeParam K The ask's kind.
   * @param kind An ask of the protocol.
   * @param responder Computes the reply from the request.
   * @returns The probe, to chain calls.
   * @throws {TypeError} When `responder` is not a function.
   */
  reply<K extends AskKeys<P>>(
    kind: K,
    responder: (msg: Parsed<P[K]>) => HandlerResult<P[K]>,
  ): this {
    if (typeof responder !== "function") {
      throw new TypeError(`Cannot set the reply for "${kind}": responder must be a function`);
    }
    this.#responders.set(kind, responder as (msg: unknown) => unknown);
    return this;
  }

  /**
   * Takes the next message no expectation has taken yet (in the order received), waiting for it.
   *
   * @typeParam K The kind expected.
   * @param kind The kind it must be.
   * @param options How long to wait.
   * @returns The message's payload.
   * @throws {AssertionError} When the next message is of another kind (it is taken all the same),
   *   or none came within `timeoutMs`.
   */
  expectMessage<K extends keyof P & string>(
    kind: K,
    options?: ExpectOptions,
  ): Promise<Parsed<P[K]>>;
  /**
   * Takes the next message no expectation has taken yet, whatever its kind, waiting for it.
   *
   * @param options How long to wait.
   * @returns The message: its kind and payload.
   * @throws {AssertionError} When none came within `timeoutMs`.
   */
  expectMessage(options?: ExpectOptions): Promise<ReceivedMessage<P>>;
  expectMessage(
    kindOrOptions?: string | ExpectOptions,
    maybeOptions?: ExpectOptions,
  ): Promise<unknown> {
    const kind = typeof kindOrOptions === "string" ? kindOrOptions : undefined;
    const options = (typeof kindOrOptions === "string" ? maybeOptions : kindOrOptions) ?? {};
    const timeoutMs = checkMs(options.timeoutMs ?? DEFAULT_EXPECT_MS, "timeoutMs");
    const wanted = kind === undefined ? "a message" : `a "${kind}" message`;
    return this.#wait(timeoutMs, (message, timedOut) => {
      if (message !== undefined) {
        this.#next++;
        if (kind === undefined) return { value: message };
        if (message.kind === kind) return { value: message.msg };
        return {
          error: new AssertionError({
            message: `${this.ref.path} expected ${wanted}, received "${message.kind}" ${
              show(message.msg)
            }`,
          }),
        };
      }
      if (!timedOut) return undefined;
      return {
        error: new AssertionError({
          message: `${this.ref.path} expected ${wanted} within ${timeoutMs} ms, received nothing`,
        }),
      };
    });
  }

  /**
   * Watches for `ms` milliseconds of real time and fails as soon as a message no expectation has
   * taken arrives (or is already waiting); it is left untaken.
   *
   * @param ms How long to watch.
   * @returns After `ms`, when no message came.
   * @throws {AssertionError} Naming the message that came.
   */
  expectNoMessage(ms: number = DEFAULT_QUIET_MS): Promise<void> {
    checkMs(ms, "ms");
    return this.#wait(ms, (message, timedOut) => {
      if (message !== undefined) {
        return {
          error: new AssertionError({
            message:
              `${this.ref.path} expected no message for ${ms} ms, received "${message.kind}" ${
                show(message.msg)
              }`,
          }),
        };
      }
      return timedOut ? { value: undefined } : undefined;
    }) as Promise<void>;
  }

  /**
   * Waits until `decide`, shown the next untaken message (or nothing, and whether time is up),
   * returns an outcome.
   */
  #wait(
    ms: number,
    decide: (
      message: ReceivedMessage<P> | undefined,
      timedOut: boolean,
    ) => { value: unknown } | { error: Error } | undefined,
  ): Promise<unknown> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const settle = (outcome: { value: unknown } | { error: Error }) => {
      if ("error" in outcome) reject(outcome.error);
      else resolve(outcome.value);
    };
    const first = decide(this.#received[this.#next], false);
    if (first !== undefined) {
      settle(first);
      return promise;
    }
    const waiter: Waiter = {
      check: (timedOut) => {
        const outcome = decide(this.#received[this.#next], timedOut);
        if (outcome === undefined) return false;
        realClearTimeout(timer);
        this.#waiters.delete(waiter);
        settle(outcome);
        return true;
      },
    };
    const timer = realSetTimeout(() => waiter.check(true), ms);
    this.#waiters.add(waiter);
    return promise;
  }

  /** Stops the probe actor (what it recorded stays readable). */
  async stop(): Promise<void> {
    await this.ref.stop();
  }

  /** {@linkcode TestProbe.stop}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** `base`, or `base-2`, `base-3`… when the root supervisor has a child of that name. */
function freeName(system: ActorSystem, base: string): string {
  const taken = new Set(system.supervisor("/").children());
  if (!taken.has(base)) return base;
  for (let n = 2;; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

function checkMs(ms: number, field: string): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`Cannot wait: ${field} must be a finite number ≥ 0, received ${ms}`);
  }
  return ms;
}

/** A payload, shown in a failure message. */
function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
