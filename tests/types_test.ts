/**
 * Type inference is part of the contract: these lines are checked by `deno check` (run by
 * `deno task test` before the tests). Each `@ts-expect-error` fails the check if the line it
 * guards ever compiles.
 */
import { equal } from "node:assert/strict";
import { z } from "zod";
import {
  type ActorRef,
  type ActorSystem,
  ask,
  type AskSchema,
  child,
  defineActor,
  refOf,
  type ZodLike,
} from "../mod.ts";
import { Counter } from "./fixtures/counter.ts";

type CounterRef = ActorRef<typeof Counter.protocol>;

function callers(ref: CounterRef): void {
  ref.tell("add", { n: 1 });
  const count: Promise<number> = ref.ask("get", {});
  void count;
  // @ts-expect-error an unknown kind
  ref.tell("subtract", { n: 1 });
  // @ts-expect-error a payload of the wrong type
  ref.tell("add", { n: "1" });
  // @ts-expect-error a missing field
  ref.tell("add", {});
  // @ts-expect-error an ask kind cannot be told
  ref.tell("get", {});
  // @ts-expect-error a tell kind cannot be asked
  void ref.ask("add", { n: 1 });
  // @ts-expect-error the reply of "get" is a number
  const text: Promise<string> = ref.ask("get", {});
  void text;
  // @ts-expect-error send takes tell kinds only
  void ref.send("get", {});
}

function definitions(): void {
  defineActor({
    name: "typed",
    url: import.meta.url,
    protocol: { get: ask(z.object({}), z.number()), put: z.object({ value: z.string() }) },
    init: () => ({ value: "" }),
    handlers: {
      // @ts-expect-error an ask handler must return its reply type
      get: (state) => state.value,
      put(state, msg) {
        state.value = msg.value;
        // @ts-expect-error the message is typed by its schema
        state.value = msg.missing;
      },
    },
  });
  defineActor({
    name: "incomplete",
    url: import.meta.url,
    protocol: { a: z.object({}), b: z.object({}) },
    init: () => ({}),
    // @ts-expect-error every kind needs a handler
    handlers: { a() {} },
  });
}

const NeedsArgs = defineActor({
  name: "needs-args",
  url: import.meta.url,
  protocol: {},
  init: (args: { start: number }) => ({ count: args.start }),
  handlers: {},
});

const OptionalArgs = defineActor({
  name: "optional-args",
  url: import.meta.url,
  protocol: {},
  init: (args?: { start: number }) => ({ count: args?.start ?? 0 }),
  handlers: {},
});

const NoArgs = defineActor({
  name: "no-args",
  url: import.meta.url,
  protocol: {},
  init: () => ({ count: 0 }),
  handlers: {},
});

function spawning(system: ActorSystem): void {
  void system.spawn(NeedsArgs, { args: { start: 1 } });
  child("a", NeedsArgs, { args: { start: 1 } });
  // @ts-expect-error init needs args
  void system.spawn(NeedsArgs);
  // @ts-expect-error init needs args
  void system.spawn(NeedsArgs, { placement: "local" });
  // @ts-expect-error args of the wrong type
  void system.spawn(NeedsArgs, { args: { start: "1" } });
  // @ts-expect-error init needs args
  child("a", NeedsArgs);
  // @ts-expect-error init needs args
  child("a", NeedsArgs, { restart: "transient" });
  // @ts-expect-error init needs args, under any supervisor
  void system.supervisor("/").spawn(NeedsArgs, {});

  // Optional args and no args at all need none.
  void system.spawn(OptionalArgs);
  void system.spawn(OptionalArgs, { placement: "local" });
  void system.spawn(OptionalArgs, { args: { start: 1 } });
  void system.spawn(NoArgs);
  void system.spawn(NoArgs, { name: "n" });
  void system.supervisor("/").spawn(NoArgs);
  child("o", OptionalArgs);
  child("n", NoArgs, { restart: "temporary" });
}

/** A protocol that refers to itself, declared as a type for `refOf<P>(name)`. */
type NodeProtocol = {
  next: AskSchema<z.ZodObject<Record<never, never>>, z.ZodType<ActorRef<NodeProtocol>>>;
};

/** Refs received in messages, args and replies are typed by their schemas, inside handlers. */
function receivedRefs(counter: CounterRef, node: ActorRef<NodeProtocol>): void {
  const Registry = defineActor({
    name: "registry",
    url: import.meta.url,
    protocol: {
      register: z.object({ worker: refOf(Counter) }),
      total: ask(z.object({ worker: refOf(Counter) }), z.number()),
      link: z.object({ node: refOf<NodeProtocol>("node") }),
      team: z.object({
        workers: z.array(refOf(Counter)),
        spare: refOf(Counter).optional(),
        either: z.union([refOf(Counter), refOf<NodeProtocol>("node")]),
      }),
    },
    init: (args: { first: ActorRef<typeof Counter.protocol> }) => ({ first: args.first }),
    handlers: {
      async register(state, msg, ctx) {
        msg.worker.tell("add", { n: 1 });
        const count: number = await msg.worker.ask("get", {});
        void count;
        // @ts-expect-error an unknown kind on a ref received in a message
        await msg.worker.ask("wrongKind", {});
        // @ts-expect-error a tell kind cannot be asked through a received ref
        await msg.worker.ask("add", { n: 1 });
        // @ts-expect-error a wrong payload through a received ref
        msg.worker.tell("add", { n: "1" });
        // @ts-expect-error the reply of "get" is a number, through a received ref too
        const text: string = await msg.worker.ask("get", {});
        void text;
        // @ts-expect-error a ref held in args is typed too
        state.first.tell("wrongKind", {});
        const found = await ctx.lookup(Counter, "/counter");
        // @ts-expect-error a looked-up ref is typed by its definition
        found.tell("add", {});
        // @ts-expect-error a timer's kind must be one of this actor's tells
        ctx.timers.once("k", "total", {}, 10);
        // @ts-expect-error a timer's payload is checked by its kind's schema
        ctx.timers.every("k", "register", { worker: 1 }, 10);
        // @ts-expect-error a child's args are checked by its definition
        await ctx.spawn(NeedsArgs, { args: { start: "1" } });
        ctx.watch(msg.worker);
      },
      total: (_state, msg) => msg.worker.ask("get", {}),
      team(_state, msg) {
        for (const worker of msg.workers) worker.tell("add", { n: 1 });
        msg.spare?.tell("add", { n: 1 });
        // @ts-expect-error an array of refs is typed element by element
        msg.workers[0].tell("wrongKind", {});
        // @ts-expect-error an optional ref may be absent
        msg.spare.tell("add", { n: 1 });
        void msg.either.path;
      },
      async link(_state, msg) {
        const next: ActorRef<NodeProtocol> = await msg.node.ask("next", {});
        // @ts-expect-error a self-referential protocol's ref is typed by the declared protocol
        await next.ask("previous", {});
      },
    },
  });
  const registry = {} as ActorRef<typeof Registry.protocol>;
  registry.tell("register", { worker: counter });
  // @ts-expect-error a ref field takes a ref, not any value
  registry.tell("register", { worker: 42 });
  // @ts-expect-error a ref field takes a ref to an actor of that protocol
  registry.tell("register", { worker: node });
  registry.tell("link", { node });
  registry.tell("team", { workers: [counter], either: node });
  // @ts-expect-error an array of refs takes refs of that protocol only
  registry.tell("team", { workers: [node], either: node });
}

/** DESIGN §3.1's self-reference, declared the way zod users write object types. */
type PingProtocol = {
  ping: z.ZodObject<{ n: z.ZodNumber; from: ZodLike<ActorRef<PingProtocol>> }>;
};

function selfReference(): void {
  const Ping = defineActor({
    name: "ping",
    url: import.meta.url,
    protocol: {
      ping: z.object({ n: z.number(), from: refOf<PingProtocol>("ping") }),
    } satisfies PingProtocol,
    init: () => ({}),
    handlers: {
      ping(_state, msg) {
        if (msg.n > 0) msg.from.tell("ping", { n: msg.n - 1, from: msg.from });
        // @ts-expect-error the declared protocol types the ref
        msg.from.tell("pong", {});
      },
    },
  });
  void Ping;
  void z.optional(refOf<PingProtocol>("ping"));
  void z.nullable(refOf<PingProtocol>("ping"));
}

Deno.test("wrong kinds, payloads and reply types are compile errors", () => {
  // The checks above run at compile time; here only their presence is asserted.
  equal(typeof callers, "function");
  equal(typeof definitions, "function");
  equal(typeof spawning, "function");
  equal(typeof receivedRefs, "function");
  equal(typeof selfReference, "function");
});
