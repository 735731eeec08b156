import { deepEqual, equal, ok as assert } from "node:assert/strict";
import fc from "fast-check";
import FakeTimers from "@sinonjs/fake-timers";
import {
  type Backoff,
  backoffDelay,
  type ExitReason,
  type Intensity,
  recordRestart,
  type RestartType,
  shouldRestart,
} from "../supervisors/policy.ts";

// ---- shouldRestart ------------------------------------------------------------------------------

Deno.test("shouldRestart follows OTP's table: permanent always, transient after a crash, temporary never", () => {
  const types: RestartType[] = ["permanent", "transient", "temporary"];
  const reasons: ExitReason[] = ["crash", "normal"];
  const table = Object.fromEntries(
    types.map((
      type,
    ) => [type, Object.fromEntries(reasons.map((r) => [r, shouldRestart(type, r)]))]),
  );
  deepEqual(table, {
    permanent: { crash: true, normal: true },
    transient: { crash: true, normal: false },
    temporary: { crash: false, normal: false },
  });
});

// ---- recordRestart ------------------------------------------------------------------------------

/** Records restarts at `times`, one after the other, and returns every step's result. */
function replay(times: number[], intensity: Intensity) {
  const steps: { times: number[]; exceeded: boolean }[] = [];
  let window: number[] = [];
  for (const now of times) {
    const step = recordRestart(window, now, intensity);
    steps.push(step);
    window = step.times;
  }
  return steps;
}

Deno.test("recordRestart tolerates maxRestarts restarts in the window and gives up on the next", () => {
  const steps = replay([0, 10, 20, 30], { maxRestarts: 3, periodMs: 1_000 });
  deepEqual(steps.map((s) => s.exceeded), [false, false, false, true]);
  deepEqual(steps[3].times, [0, 10, 20, 30]);
});

Deno.test("recordRestart with maxRestarts 0 gives up on the very first restart", () => {
  deepEqual(recordRestart([], 0, { maxRestarts: 0, periodMs: 1_000 }), {
    times: [0],
    exceeded: true,
  });
  deepEqual(recordRestart([], 5_000_000, { maxRestarts: 0, periodMs: 1 }), {
    times: [5_000_000],
    exceeded: true,
  });
});

Deno.test("recordRestart counts a restart one ms inside the window", () => {
  const intensity = { maxRestarts: 1, periodMs: 1_000 };
  deepEqual(recordRestart([0], 999, intensity), { times: [0, 999], exceeded: true });
});

Deno.test("recordRestart drops a restart one ms past the window", () => {
  const intensity = { maxRestarts: 1, periodMs: 1_000 };
  deepEqual(recordRestart([0], 1_001, intensity), { times: [1_001], exceeded: false });
});

Deno.test({
  name:
    "recordRestart still counts a restart exactly periodMs old, as OTP does (R >= Now - Period)",
  fn() {
    const intensity = { maxRestarts: 1, periodMs: 1_000 };
    deepEqual(recordRestart([0], 1_000, intensity), { times: [0, 1_000], exceeded: true });
  },
});

Deno.test("recordRestart keeps only the times inside the window, oldest first, this one last", () => {
  const intensity = { maxRestarts: 10, periodMs: 100 };
  deepEqual(recordRestart([0, 50, 120, 199], 230, intensity).times, [199, 230]);
  deepEqual(recordRestart([0, 50, 120, 199], 219, intensity).times, [120, 199, 219]);
  deepEqual(recordRestart([], 7, intensity).times, [7]);
});

Deno.test("recordRestart is pure: it neither mutates nor returns the caller's array", () => {
  const earlier = Object.freeze([0, 10, 20]) as readonly number[];
  const result = recordRestart(earlier, 30, { maxRestarts: 5, periodMs: 1_000 });
  deepEqual(earlier, [0, 10, 20]);
  assert(result.times !== earlier);
  deepEqual(result.times, [0, 10, 20, 30]);
});

Deno.test("recordRestart: exceeded is exactly 'more than maxRestarts times within periodMs'", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 5 }),
      fc.integer({ min: 1, max: 500 }),
      fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 20 }),
      (maxRestarts, periodMs, gaps) => {
        const times: number[] = [];
        let now = 0;
        for (const gap of gaps) times.push(now += gap);
        const steps = replay(times, { maxRestarts, periodMs });
        steps.forEach((step, i) => {
          const inside = times.slice(0, i + 1).filter((t) => times[i] - t <= periodMs);
          deepEqual(step.times, inside);
          equal(step.exceeded, inside.length > maxRestarts);
        });
      },
    ),
  );
});

Deno.test("recordRestart's window slides as the clock moves on (fake performance clock)", () => {
  const clock = FakeTimers.install({ toFake: ["performance", "Date"] });
  try {
    const intensity = { maxRestarts: 2, periodMs: 1_000 };
    let window: number[] = [];
    const restart = () => {
      const step = recordRestart(window, performance.now(), intensity);
      window = step.times;
      return step.exceeded;
    };
    const start = performance.now();
    equal(restart(), false); // t = 0
    clock.tick(400);
    equal(restart(), false); // t = 400: two in the window
    clock.tick(400);
    equal(restart(), true); // t = 800: three within 1000 ms
    clock.tick(601);
    equal(restart(), false); // t = 1401: 0 and 400 have slid out, 800 and 1401 remain
    deepEqual(window.map((t) => t - start), [800, 1_401]);
    clock.tick(100);
    equal(restart(), true); // t = 1501: 800, 1401 and this one make three within 1000 ms
    clock.tick(899);
    equal(restart(), true); // t = 2400: 800 has slid out; 1401, 1501 and 2400 remain
    deepEqual(window.map((t) => t - start), [1_401, 1_501, 2_400]);
    clock.tick(5_000);
    equal(restart(), false); // a long quiet spell empties the window
    deepEqual(window.map((t) => t - start), [7_400]);
  } finally {
    clock.uninstall();
  }
});

// ---- backoffDelay -------------------------------------------------------------------------------

const steady: Backoff = { initialMs: 10, maxMs: 10_000, factor: 2, jitter: 0 };

Deno.test("backoffDelay grows by factor per consecutive restart, from initialMs", () => {
  deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, steady)), [10, 20, 40, 80, 160]);
  deepEqual(
    [1, 2, 3].map((n) => backoffDelay(n, { ...steady, initialMs: 100, factor: 1.5 })),
    [100, 150, 225],
  );
});

Deno.test("backoffDelay with factor 1 is constant and with initialMs 0 is always 0", () => {
  deepEqual([1, 2, 10].map((n) => backoffDelay(n, { ...steady, factor: 1 })), [10, 10, 10]);
  deepEqual(
    [1, 2, 10].map((n) => backoffDelay(n, { ...steady, initialMs: 0, jitter: 1 }, () => 0.99)),
    [0, 0, 0],
  );
});

Deno.test("backoffDelay is capped at maxMs, even when factor^n overflows to Infinity", () => {
  const capped = { ...steady, maxMs: 100 };
  deepEqual([4, 5, 6, 50].map((n) => backoffDelay(n, capped)), [80, 100, 100, 100]);
  equal(backoffDelay(5_000, capped), 100); // 2 ** 4999 is Infinity
  equal(backoffDelay(5_000, { ...capped, jitter: 0.5 }, () => 0.5), 100);
});

Deno.test("backoffDelay spreads by ±jitter of the capped delay: the bounds with a fixed random", () => {
  const backoff = { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.2 };
  equal(backoffDelay(1, backoff, () => 0), 80); // the low edge: base × (1 − jitter)
  equal(backoffDelay(1, backoff, () => 0.5), 100); // the middle: no spread
  equal(backoffDelay(1, backoff, () => 0.75), 110);
  equal(backoffDelay(1, backoff, () => 1 - Number.EPSILON), 120); // the high edge, rounded
  equal(backoffDelay(3, backoff, () => 0), 320);
  // Capped first, then spread: 100 × 2^9 is past maxMs, so the spread is around 1000.
  equal(backoffDelay(10, backoff, () => 0), 800);
  equal(backoffDelay(10, backoff, () => 1 - Number.EPSILON), 1_200);
});

Deno.test("backoffDelay with jitter 1 can reach 0 but never goes negative", () => {
  const full = { initialMs: 50, maxMs: 1_000, factor: 2, jitter: 1 };
  equal(backoffDelay(1, full, () => 0), 0);
  equal(backoffDelay(1, full, () => 1 - Number.EPSILON), 100);
});

Deno.test("backoffDelay stays a whole number of ms within [base × (1 − jitter), base × (1 + jitter)]", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 60 }),
      fc.record({
        initialMs: fc.integer({ min: 0, max: 10_000 }),
        maxMs: fc.integer({ min: 0, max: 60_000 }),
        factor: fc.double({ min: 1, max: 4, noNaN: true }),
        jitter: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (attempt, backoff, r) => {
        const delay = backoffDelay(attempt, backoff, () => r);
        const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** (attempt - 1));
        assert(Number.isInteger(delay), `${delay} is not whole`);
        assert(delay >= 0);
        assert(delay >= Math.floor(base * (1 - backoff.jitter)) - 1e-9, `${delay} < low edge`);
        assert(delay <= Math.ceil(base * (1 + backoff.jitter)) + 1e-9, `${delay} > high edge`);
      },
    ),
  );
});

Deno.test("backoffDelay uses Math.random by default and ignores random when jitter is 0", () => {
  equal(backoffDelay(2, steady, () => 0), 20);
  equal(backoffDelay(2, steady, () => 0.99), 20);
  const spread = { ...steady, jitter: 0.5 };
  for (let i = 0; i < 50; i++) {
    const delay = backoffDelay(2, spread);
    assert(delay >= 10 && delay <= 30, `${delay}`);
  }
});
