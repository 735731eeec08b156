/**
 * The clock that watches live threads: heartbeats, a guest's last word, handler timeouts. It is
 * captured when this module loads, so that fake time in tests (`FakeTime`), which moves the
 * global timers and `performance.now()`, cannot make a guest answering in real time look silent
 * or a handler look overdue. Ask timeouts, backoff and `ctx.timers` stay on the global timers,
 * which fake time drives. A unit test of the heartbeat may swap its fields for a fake clock's.
 *
 * @module
 */

/** Milliseconds, setInterval and clearInterval for liveness checks. */
export const liveClock: {
  now: () => number;
  setInterval: (fn: () => void, ms: number) => number;
  clearInterval: (id: number) => void;
} = {
  now: performance.now.bind(performance),
  setInterval: (fn, ms) => setIntervalAtLoad(fn, ms),
  clearInterval: (id) => clearIntervalAtLoad(id),
};

const setIntervalAtLoad = globalThis.setInterval.bind(globalThis) as unknown as (
  fn: () => void,
  ms: number,
) => number;
const clearIntervalAtLoad = globalThis.clearInterval.bind(globalThis) as unknown as (
  id: number,
) => void;
