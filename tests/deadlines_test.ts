import { deepEqual, equal } from "node:assert/strict";
import { Deadlines } from "../_util.ts";
import { test, withClock } from "./_helpers.ts";

Deno.test("deadlines fire in time order across different delays", async () => {
  await withClock((clock) => {
    const deadlines = new Deadlines();
    const fired: string[] = [];
    deadlines.add(300, () => fired.push("300"));
    deadlines.add(100, () => fired.push("100"));
    deadlines.add(200, () => fired.push("200"));
    deadlines.add(100, () => fired.push("100b"));
    clock.tick(99);
    deepEqual(fired, []);
    clock.tick(1);
    deepEqual(fired, ["100", "100b"]);
    clock.tick(100);
    deepEqual(fired, ["100", "100b", "200"]);
    clock.tick(100);
    deepEqual(fired, ["100", "100b", "200", "300"]);
    equal(clock.countTimers(), 0);
  });
});

Deno.test("a cancelled deadline never fires and the last cancel leaves no live work", async () => {
  await withClock((clock) => {
    const deadlines = new Deadlines();
    const fired: number[] = [];
    const a = deadlines.add(50, () => fired.push(1));
    const b = deadlines.add(50, () => fired.push(2));
    deadlines.cancel(a);
    deadlines.cancel(a); // twice is harmless
    clock.tick(50);
    deepEqual(fired, [2]);
    deadlines.cancel(b); // after firing is harmless
    deadlines.add(10, () => fired.push(3));
    deadlines.clear();
    clock.tick(1_000);
    deepEqual(fired, [2]);
    equal(clock.countTimers(), 0);
  });
});

Deno.test("one timer serves many deadlines of the same delay", async () => {
  await withClock((clock) => {
    const deadlines = new Deadlines();
    let fired = 0;
    for (let i = 0; i < 1_000; i++) {
      deadlines.add(5_000, () => fired++);
      clock.tick(1);
    }
    equal(clock.countTimers(), 1);
    clock.tick(5_000);
    equal(fired, 1_000);
  });
});

Deno.test("a cancelled deadline is freed at once, not kept until its original expiry", async () => {
  await withClock((clock) => {
    const deadlines = new Deadlines();
    const held = Array.from({ length: 5_000 }, () => deadlines.add(60_000, () => {}));
    equal(deadlines.size, 5_000);
    // Answered out of order, as asks to several actors are.
    for (let i = 0; i < held.length; i += 2) deadlines.cancel(held[i]);
    equal(deadlines.size, 2_500);
    for (let i = held.length - 1; i > 0; i -= 2) deadlines.cancel(held[i]);
    equal(deadlines.size, 0);
    // The freed entry lets go of what its callback captured.
    equal(held[0].fire, undefined);
    equal(clock.countTimers(), 0);
  });
});

Deno.test("deadlines added and cancelled by a firing callback are honoured", async () => {
  await withClock((clock) => {
    const deadlines = new Deadlines();
    const fired: string[] = [];
    deadlines.add(10, () => {
      fired.push("a");
      deadlines.cancel(later);
      deadlines.add(5, () => fired.push("c"));
    });
    const later = deadlines.add(10, () => fired.push("b"));
    clock.tick(10);
    deepEqual(fired, ["a"]);
    equal(deadlines.size, 1);
    clock.tick(5);
    deepEqual(fired, ["a", "c"]);
    equal(deadlines.size, 0);
    equal(clock.countTimers(), 0);
  });
});

Deno.test("clearing from a firing callback stops the rest", async () => {
  await withClock((clock) => {
    const deadlines = new Deadlines();
    const fired: number[] = [];
    deadlines.add(10, () => {
      fired.push(1);
      deadlines.clear();
    });
    deadlines.add(10, () => fired.push(2));
    deadlines.add(20, () => fired.push(3));
    clock.tick(100);
    deepEqual(fired, [1]);
    equal(deadlines.size, 0);
    equal(clock.countTimers(), 0);
  });
});

test("a deadline longer than setTimeout takes waits its time on a few timers", async () => {
  await withClock((clock) => {
    const deadlines = new Deadlines();
    const month = 30 * 24 * 3_600_000; // past setTimeout's 2^31 - 1 ms, which would fire at once
    let fired = 0;
    let armed = 0;
    const setTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms?: number) => {
      armed++;
      return setTimeout(fn, ms);
    }) as typeof globalThis.setTimeout;
    try {
      deadlines.add(month, () => fired++);
      clock.tick(10_000);
      equal(armed, 1, "one timer, not one every millisecond");
      clock.tick(month - 10_001);
      equal(fired, 0);
      clock.tick(1);
      equal(fired, 1);
      equal(armed, 2, "armed again at setTimeout's limit");
      equal(clock.countTimers(), 0);
    } finally {
      globalThis.setTimeout = setTimeout;
    }
  });
});
