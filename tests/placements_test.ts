import { deepEqual, equal, throws } from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import { z } from "zod";
import { child, defineActor } from "../mod.ts";
import { HungError } from "../errors.ts";
import {
  type Placement,
  PLACEMENT_NAMES,
  PLACEMENTS,
  placementsAccepting,
} from "../actors/placement.ts";
import type { Placement as PublicPlacement } from "../actors/mod.ts";
import { Endpoint, type EndpointMember } from "../actors/endpoint.ts";
import { startHeartbeat } from "../actors/_heartbeat.ts";
import { liveClock } from "../actors/_clock.ts";
import { actorOptionsSchema, parseOptions } from "../supervisors/_options.ts";
import { test } from "./_helpers.ts";

const Idle = defineActor({
  name: "Idle",
  url: import.meta.url,
  protocol: { poke: z.object({}) },
  init: () => ({}),
  handlers: { poke: () => {} },
});

/** An endpoint of `kind` over a link that goes nowhere. */
function endpointOf(kind: Placement): Endpoint {
  return new Endpoint(kind, PLACEMENTS[kind].traits, kind, () => ({
    post() {},
    terminate() {},
  }));
}

// The type is the table's keys, and the public type is the same one.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const typeIsTheTable: Same<Placement, "local" | "worker" | "shared" | "process"> = true;
const publicTypeIsTheTable: Same<PublicPlacement, Placement> = true;

test("the placement type, the table and the spawn option schema agree", () => {
  equal(typeIsTheTable && publicTypeIsTheTable, true);
  deepEqual(PLACEMENT_NAMES, ["local", "worker", "shared", "process"]);
  deepEqual(PLACEMENT_NAMES, Object.keys(PLACEMENTS));
  for (const placement of PLACEMENT_NAMES) {
    equal(
      parseOptions(actorOptionsSchema, { placement }, 'Cannot spawn "counter"').placement,
      placement,
    );
  }
  throws(() => parseOptions(actorOptionsSchema, { placement: "moon" }, 'Cannot spawn "counter"'), {
    name: "TypeError",
    message:
      'Cannot spawn "counter": placement must be one of "local", "worker", "shared", "process", received "moon"',
  });
});

test("each placement declares the traits its documentation promises", () => {
  const traits = Object.fromEntries(PLACEMENT_NAMES.map((name) => [name, PLACEMENTS[name].traits]));
  deepEqual(traits, {
    local: { dedicated: false, killable: false, trusted: true, sharesMemory: true },
    worker: { dedicated: true, killable: false, trusted: false, sharesMemory: true },
    shared: { dedicated: false, killable: false, trusted: false, sharesMemory: true },
    process: { dedicated: true, killable: true, trusted: false, sharesMemory: false },
  });
  equal(Object.isFrozen(PLACEMENTS), true);
  for (const name of PLACEMENT_NAMES) {
    const row = PLACEMENTS[name];
    deepEqual([row, row.traits, row.options].map(Object.isFrozen), [true, true, true]);
  }
});

test("an endpoint takes its traits from its placement's row", () => {
  const leaves: Placement[] = [];
  const closedWithLastActor: Placement[] = [];
  for (const kind of PLACEMENT_NAMES) {
    const endpoint = endpointOf(kind);
    equal(endpoint.trusted, kind === "local");
    if (endpoint.leavesThread) leaves.push(kind);
    const member = { id: 1 } as EndpointMember;
    endpoint.attach(member);
    endpoint.detach(member);
    if (!endpoint.alive) closedWithLastActor.push(kind);
    endpoint.close();
  }
  // Only Web Workers can be left spinning; only one-actor guests end with their actor.
  deepEqual(leaves, ["worker", "shared"]);
  deepEqual(closedWithLastActor, ["worker", "process"]);
});

test("placement-only options are refused elsewhere with messages built from the table", () => {
  deepEqual(placementsAccepting("spare"), ["worker"]);
  deepEqual(placementsAccepting("permissions"), ["worker", "process"]);
  deepEqual(placementsAccepting("maxHeapMb"), ["process"]);
  throws(() => child("db", Idle, { placement: "process", spare: true }), {
    name: "TypeError",
    message: 'Cannot declare child "db": spare applies to the "worker" placement only',
  });
  throws(() => child("db", Idle, { placement: "shared", permissions: "none" }), {
    name: "TypeError",
    message:
      'Cannot declare child "db": permissions apply to the "worker" and "process" placements only, received "shared"',
  });
  throws(() => child("db", Idle, { maxHeapMb: 64 }), {
    name: "TypeError",
    message: 'Cannot declare child "db": maxHeapMb applies to the "process" placement only',
  });
  equal(child("db", Idle, { placement: "process", permissions: "none", maxHeapMb: 64 }).id, "db");
  equal(child("db", Idle, { spare: true, permissions: "none" }).id, "db");
});

test("the heartbeat pings guests, declares a silent one hung and skips the host's own", () => {
  const clock = FakeTimers.install({ toFake: ["setInterval", "clearInterval", "performance"] });
  // Liveness runs on a clock captured at load (fake time cannot stop it): here, the fake one.
  const real = { ...liveClock };
  liveClock.now = () => performance.now();
  liveClock.setInterval = (fn, ms) => setInterval(fn, ms) as unknown as number;
  liveClock.clearInterval = (id) => clearInterval(id);
  const endpoints = PLACEMENT_NAMES.map(endpointOf);
  try {
    const pinged: string[] = [];
    for (const endpoint of endpoints) {
      endpoint.heard = true;
      endpoint.ping = () => pinged.push(endpoint.kind);
    }
    const hung: [string, string, boolean][] = [];
    let ticks = 0;
    // The placement layer keeps only live endpoints.
    const stop = startHeartbeat(() => endpoints.filter((endpoint) => endpoint.alive), {
      intervalMs: 100,
      timeoutMs: 250,
      tick: () => ticks++,
      hung: (endpoint, error, leftThread) => {
        equal(error instanceof HungError, true);
        hung.push([endpoint.kind, error.message, leftThread]);
      },
    });
    clock.tick(100);
    deepEqual(pinged, ["worker", "shared", "process"]);
    // Only the process answers from now on.
    for (let i = 0; i < 3; i++) {
      endpoints[3].receive([{ t: "pong", n: 1 }]);
      clock.tick(100);
    }
    equal(ticks, 4);
    deepEqual(hung.map(([kind, , left]) => [kind, left]), [["worker", true], ["shared", true]]);
    deepEqual(endpoints.map((endpoint) => endpoint.alive), [true, false, false, true]);
    equal(endpoints[1].error?.message, "Guest of worker answered no heartbeat for 300 ms");
    stop();
    clock.tick(1_000);
    equal(ticks, 4);
  } finally {
    for (const endpoint of endpoints) endpoint.close();
    Object.assign(liveClock, real);
    clock.uninstall();
  }
});
