import { deepEqual, equal } from "node:assert/strict";
import { Deadlines } from "../_util.ts";
import { withClock } from "./_helpers.ts";

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
