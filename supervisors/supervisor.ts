/**
 * The supervisor at run time: starts its children in order, decides what a crash restarts, keeps
 * the restart intensity, waits the backoff, gives up and escalates, and stops its children in
 * reverse order.
 *
 * Every decision runs through the supervisor's own queue, one at a time; a failed restart comes
 * back as a crash and is queued like any other, never retried in a loop. A stop overtakes the
 * queue: pending backoffs are cancelled and queued decisions find the supervisor stopping.
 *
 * @module
 */

import type { ActorCore, ActorOwner, DeadLetter } from "../actors/actor.ts";
import type { ActorRef } from "../actors/ref.ts";
import { HungError, RestartIntensityError } from "../errors.ts";
import type { EventStream } from "./events.ts";
import type { SupervisorSnapshot, TreeNode } from "./observe.ts";
import { backoffDelay, type ExitReason, recordRestart, shouldRestart } from "./policy.ts";
import { type ChildSpec, isSupervisorSpec, supervisor, type SupervisorSpec } from "./spec.ts";

/** What a supervisor needs from the system it runs in. */
export interface SupervisionContext {
  readonly events: EventStream;
  /** Creates (but does not start) the host side of an actor child and registers its path. */
  createActor(spec: ChildSpec, path: string, owner: ActorOwner): ActorCore;
  /** Forgets a path once its actor has stopped for good. */
  release(path: string, core: ActorCore): void;
  /** Records a dead letter. */
  deadLetter(letter: DeadLetter): void;
  /** The clock, for intensity windows. */
  now(): number;
}

interface ActorNode {
  readonly kind: "actor";
  readonly spec: ChildSpec;
  readonly path: string;
  readonly core: ActorCore;
  readonly dynamic: boolean;
  restarts: number[];
  /** The children the actor spawned with `ctx.spawn`, under a supervisor of their own. */
  kids: Supervisor | undefined;
}

interface SupervisorNode {
  readonly kind: "supervisor";
  readonly spec: ChildSpec;
  readonly path: string;
  readonly supervisor: Supervisor;
  readonly dynamic: boolean;
  restarts: number[];
}

type Node = ActorNode | SupervisorNode;

/** A child an actor asks for: its validated spec, and whether its name was chosen. */
interface KidRequest {
  readonly spec: ChildSpec;
  readonly named: boolean;
}

type State = "idle" | "running" | "failed" | "stopping" | "stopped";

/** A running supervisor. */
export class Supervisor {
  readonly path: string;
  readonly spec: SupervisorSpec;
  readonly #context: SupervisionContext;
  readonly #escalate: (error: Error) => void;
  readonly #ids: string[] = [];
  readonly #nodes = new Map<string, Node>();
  /** By base name: the suffix `freeId` tries first (ids below it were taken when last asked). */
  readonly #nextSuffix = new Map<string, number>();
  readonly #timers = new Map<ReturnType<typeof setTimeout>, () => void>();
  #times: number[] = [];
  #state: State = "idle";
  #queue: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  /** For the children of an actor (`ctx.spawn`): the actor, their `ctx.parent`. */
  readonly #parent: ActorRef | undefined;

  constructor(
    path: string,
    spec: SupervisorSpec,
    context: SupervisionContext,
    escalate: (error: Error) => void,
    parent?: ActorRef,
  ) {
    this.#parent = parent;
    this.path = path;
    this.spec = spec;
    this.#context = context;
    this.#escalate = escalate;
  }

  /** The children's ids, in start order. */
  get children(): readonly string[] {
    return this.#ids;
  }

  /** Whether the supervisor is running (not failed or stopping). */
  get running(): boolean {
    return this.#state === "running";
  }

  /**
   * Starts the children in order. If one fails to start, those already started are stopped in
   * reverse order and the error is thrown.
   */
  async start(): Promise<void> {
    this.#state = "running";
    for (const spec of this.spec.children) {
      try {
        await this.#add(spec, false);
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
  }

  /** Adds and starts one child; for dynamic children the id may not be taken. */
  async add(spec: ChildSpec): Promise<ActorRef | Supervisor> {
    if (this.#state !== "running") {
      throw new TypeError(`Cannot spawn "${spec.id}" under ${this.path}: it is not running`);
    }
    return await this.#add(spec, true);
  }

  async #add(spec: ChildSpec, dynamic: boolean): Promise<ActorRef | Supervisor> {
    if (this.#nodes.has(spec.id)) {
      throw new TypeError(
        `Cannot spawn "${spec.id}": the path ${this.#childPath(spec.id)} is taken`,
      );
    }
    const path = this.#childPath(spec.id);
    let node: Node;
    if (isSupervisorSpec(spec.target)) {
      const nested: Supervisor = new Supervisor(path, spec.target, this.#context, (error) => {
        this.#exit(node, "crash", error);
      });
      node = { kind: "supervisor", spec, path, supervisor: nested, dynamic, restarts: [] };
      this.#ids.push(spec.id);
      this.#nodes.set(spec.id, node);
      try {
        await nested.start();
      } catch (error) {
        this.#forget(spec.id);
        throw error;
      }
      return nested;
    }
    const owner: ActorOwner = {
      crashed: (_core, error) => this.#exit(node, "crash", error),
      exited: () => this.#exit(node, "normal", undefined),
      stopped: () => this.#stoppedByOthers(node),
      deadLetter: (letter) => this.#context.deadLetter(letter),
      // A handler that failed while its incarnation was stopping: reported, nothing to restart.
      handlerFailed: (_core, error) => {
        this.#context.events.emit({ type: "crashed", path: node.path, error });
      },
      spawnChild: (request) => this.#spawnKid(node as ActorNode, request as KidRequest),
      stopping: (_core, timeoutMs) => this.#stopKids(node, timeoutMs),
    };
    const core = this.#context.createActor(spec, path, owner);
    core.parent = this.#parent;
    node = { kind: "actor", spec, path, core, dynamic, restarts: [], kids: undefined };
    this.#ids.push(spec.id);
    this.#nodes.set(spec.id, node);
    try {
      await core.start();
    } catch (error) {
      this.#forget(spec.id);
      this.#context.release(path, core);
      throw error;
    }
    this.#context.events.emit({ type: "started", path, placement: core.options.placement });
    return core.ref;
  }

  #childPath(id: string): string {
    return this.path === "/" ? `/${id}` : `${this.path}/${id}`;
  }

  #forget(id: string): void {
    this.#nodes.delete(id);
    // From the end: a stop removes children right to left, each then found (and cut) at once.
    const index = this.#ids.lastIndexOf(id);
    if (index >= 0) this.#ids.splice(index, 1);
  }

  /** Finds the node of a descendant by path. */
  find(path: string): ActorCore | Supervisor | undefined {
    if (path === this.path) return this;
    const prefix = this.path === "/" ? "/" : `${this.path}/`;
    if (!path.startsWith(prefix)) return undefined;
    const [id] = path.slice(prefix.length).split("/");
    const node = this.#nodes.get(id);
    if (node === undefined) return undefined;
    if (node.kind === "actor") {
      if (node.path === path) return node.core;
      const found = node.kids?.find(path);
      return found instanceof Supervisor ? undefined : found; // an actor's children only
    }
    return node.supervisor.find(path);
  }

  /**
   * The first free child id among `base`, `base-2`, `base-3`…: the suffix to try next is kept per
   * base, so that many unnamed spawns cost one lookup each, not a scan of every child.
   */
  freeId(base: string): string {
    let n = this.#nextSuffix.get(base) ?? 1;
    let id = n === 1 ? base : `${base}-${n}`;
    while (this.#nodes.has(id)) id = `${base}-${++n}`;
    this.#nextSuffix.set(base, n);
    return id;
  }

  /** Every actor below this supervisor, in start order, depth first. */
  actors(): ActorCore[] {
    const out: ActorCore[] = [];
    for (const id of this.#ids) {
      const node = this.#nodes.get(id)!;
      if (node.kind === "actor") {
        out.push(node.core);
        if (node.kids) out.push(...node.kids.actors());
      } else out.push(...node.supervisor.actors());
    }
    return out;
  }

  // ---- children of actors (ctx.spawn) -------------------------------------------------------

  /** Starts a child of the actor of `node`, under that actor's own supervisor. */
  async #spawnKid(node: ActorNode, request: KidRequest): Promise<ActorRef> {
    const { core } = node;
    // From `init` (starting) or a handler (running): a crashed or stopping actor spawns nothing.
    if (
      this.#nodes.get(node.spec.id) !== node ||
      (core.status !== "running" && core.status !== "starting")
    ) {
      throw new TypeError(`Cannot spawn "${request.spec.id}" from ${node.path}: it is not running`);
    }
    let kids = node.kids;
    if (kids === undefined) {
      const created: Supervisor = new Supervisor(
        node.path,
        supervisor(),
        this.#context,
        (error) => void this.#kidsFailed(node, created, error),
        core.ref,
      );
      created.#state = "running";
      node.kids = kids = created;
    }
    const spec = request.named
      ? request.spec
      : { ...request.spec, id: kids.freeId(request.spec.id) };
    return await kids.add(spec) as ActorRef;
  }

  /** The children of an actor crashed past their restart intensity: the actor crashes. */
  async #kidsFailed(node: ActorNode, kids: Supervisor, error: Error): Promise<void> {
    if (node.kids !== kids) return;
    await node.core.recycle(node.spec.shutdownMs);
    this.#exit(node, "crash", error);
  }

  /** Stops the children of an actor: before it stops, and when it crashes or restarts. */
  async #stopKids(node: Node, timeoutMs?: number): Promise<void> {
    if (node.kind !== "actor" || node.kids === undefined) return;
    const kids = node.kids;
    node.kids = undefined;
    await kids.stop(timeoutMs);
  }

  /** The subtree's shape and each actor's figures, children in start order. */
  snapshot(): SupervisorSnapshot {
    const children: TreeNode[] = this.#ids.map((id) => {
      const node = this.#nodes.get(id)!;
      if (node.kind === "supervisor") return node.supervisor.snapshot();
      const stats = node.core.stats();
      return {
        path: node.path,
        kind: "actor",
        name: node.core.def.name,
        placement: stats.placement,
        status: stats.status,
        mailboxDepth: stats.mailboxDepth,
        processed: stats.processed,
        restarts: stats.restarts,
        lastError: stats.lastError ?? null,
        ...(node.kids === undefined ? {} : { children: node.kids.snapshot().children }),
      };
    });
    return { path: this.path, kind: "supervisor", strategy: this.spec.strategy, children };
  }

  // ---- exits --------------------------------------------------------------------------------

  /** A child crashed or exited: queue the decision. */
  #exit(node: Node, reason: ExitReason, error: Error | undefined): void {
    if (reason === "crash" && error !== undefined) {
      if (error instanceof HungError) {
        this.#context.events.emit({ type: "hung", path: node.path, error });
      }
      if (node.kind === "actor") {
        this.#context.events.emit({ type: "crashed", path: node.path, error });
      }
    }
    this.#enqueue(() => this.#decide(node, reason, error));
  }

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue.then(task).catch((error) => {
      // A decision must never break the queue; surface it as an escalation.
      this.#fail(error instanceof Error ? error : new Error(String(error)));
    });
  }

  async #decide(node: Node, reason: ExitReason, error: Error | undefined): Promise<void> {
    if (this.#state !== "running" || this.#nodes.get(node.spec.id) !== node) return;
    // A report from an incarnation that was already replaced (two siblings crashing in one tick,
    // under one_for_all): the first decision restarted this child too. As OTP, ignore it.
    if (node.kind === "actor" && node.core.status !== "crashed" && node.core.status !== "down") {
      return;
    }
    // As Akka's preRestart: an actor's children stop when it crashes, before any backoff.
    await this.#stopKids(node);
    if (!shouldRestart(node.spec.restart, reason)) {
      this.#forget(node.spec.id);
      await this.#stopNode(node);
      return;
    }
    const now = this.#context.now();
    const window = recordRestart(this.#times, now, this.spec.intensity);
    this.#times = window.times;
    if (window.exceeded) {
      const { maxRestarts, periodMs } = this.spec.intensity;
      const cause = error ?? new Error(`Child "${node.spec.id}" exited`);
      await this.#giveUp(
        new RestartIntensityError(this.path, node.spec.id, maxRestarts, periodMs, { cause }),
      );
      return;
    }
    node.restarts = recordRestart(node.restarts, now, this.spec.intensity).times;
    const group = this.#group(node);
    // The others end right to left; a temporary sibling is never restarted, so it leaves.
    for (const other of [...group].reverse()) {
      if (other === node) continue;
      if (other.spec.restart === "temporary") {
        this.#forget(other.spec.id);
        await this.#stopNode(other);
      } else {
        await this.#recycleNode(other);
      }
    }
    const delay = backoffDelay(node.restarts.length, this.spec.backoff);
    if (delay > 0 && !(await this.#sleep(delay))) return;
    for (const member of group) {
      // A child stopped from outside during the backoff is not brought back.
      if (this.#state !== "running" || this.#nodes.get(member.spec.id) !== member) continue;
      await this.#restartNode(member);
    }
  }

  /** The children a crash of `node` restarts, in start order. */
  #group(node: Node): Node[] {
    const all = this.#ids.map((id) => this.#nodes.get(id)!);
    switch (this.spec.strategy) {
      case "one_for_one":
        return [node];
      case "one_for_all":
        return all;
      case "rest_for_one":
        return all.slice(all.indexOf(node));
    }
  }

  async #restartNode(node: Node): Promise<void> {
    if (node.kind === "supervisor") {
      await node.supervisor.restartAll();
      return;
    }
    if (node.core.status !== "crashed" && node.core.status !== "down") return;
    try {
      await node.core.restart();
    } catch {
      return; // reported to this supervisor as a crash, and queued
    }
    this.#context.events.emit({
      type: "restarted",
      path: node.path,
      restarts: node.core.stats().restarts,
    });
  }

  async #recycleNode(node: Node): Promise<void> {
    if (node.kind === "supervisor") await node.supervisor.recycleAll();
    else {
      await this.#stopKids(node);
      await node.core.recycle(node.spec.shutdownMs);
    }
  }

  async #stopNode(node: Node, timeoutMs?: number): Promise<void> {
    if (node.kind === "supervisor") {
      await node.supervisor.stop(timeoutMs);
      this.#context.events.emit({ type: "stopped", path: node.path });
    } else {
      await this.#stopKids(node, timeoutMs);
      await node.core.stop({ timeoutMs: timeoutMs ?? node.spec.shutdownMs });
    }
  }

  /** An actor child was stopped by someone else (`ref.stop()`): it leaves the tree. */
  #stoppedByOthers(node: Node): void {
    if (node.kind !== "actor") return;
    this.#context.release(node.path, node.core);
    this.#context.events.emit({ type: "stopped", path: node.path });
    if (this.#nodes.get(node.spec.id) === node) this.#forget(node.spec.id);
  }

  /** Waits `ms` unless the supervisor stops first; `false` when it did. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve(this.#state === "running");
      }, ms);
      this.#timers.set(timer, () => resolve(false));
    });
  }

  #cancelTimers(): void {
    for (const [timer, cancel] of this.#timers) {
      clearTimeout(timer);
      cancel();
    }
    this.#timers.clear();
  }

  /** Too many restarts: end every child's incarnation, keep their mailboxes, escalate. */
  async #giveUp(error: RestartIntensityError): Promise<void> {
    this.#state = "failed";
    this.#cancelTimers();
    this.#context.events.emit({ type: "escalated", path: this.path, error });
    await this.recycleAll();
    this.#escalate(error);
  }

  #fail(error: Error): void {
    if (this.#state !== "running") return;
    this.#state = "failed";
    this.#cancelTimers();
    this.#context.events.emit({ type: "escalated", path: this.path, error });
    this.#escalate(error);
  }

  // ---- restarts from the parent -------------------------------------------------------------

  /** Ends every child's incarnation, right to left, keeping their mailboxes. */
  async recycleAll(): Promise<void> {
    for (const id of [...this.#ids].reverse()) {
      const node = this.#nodes.get(id);
      if (node) await this.#recycleNode(node);
    }
  }

  /** Starts every child again, left to right, with a fresh intensity window. */
  async restartAll(): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") return;
    this.#cancelTimers();
    await this.recycleAll();
    this.#state = "running";
    this.#times = [];
    for (const id of [...this.#ids]) {
      const node = this.#nodes.get(id);
      if (node && this.#state === "running") await this.#restartNode(node);
    }
  }

  /**
   * Stops every child for good, right to left; pending restarts are cancelled.
   *
   * @param timeoutMs Overrides each child's `shutdownMs`.
   */
  stop(timeoutMs?: number): Promise<void> {
    this.#stopping ??= this.#stop(timeoutMs);
    return this.#stopping;
  }

  async #stop(timeoutMs: number | undefined): Promise<void> {
    this.#state = "stopping";
    this.#cancelTimers();
    for (const id of [...this.#ids].reverse()) {
      const node = this.#nodes.get(id);
      if (node === undefined) continue;
      this.#forget(id);
      await this.#stopNode(node, timeoutMs);
    }
    this.#state = "stopped";
  }
}
