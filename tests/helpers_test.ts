import { equal, throws } from "node:assert/strict";
import { assertNoLeakedWorkers, liveWorkers } from "./_helpers.ts";

Deno.test("the leak check fails a test that leaves a worker alive, and ends that worker", () => {
  equal(liveWorkers(), 0);
  const worker = new Worker("data:application/javascript,", { type: "module" });
  equal(liveWorkers(), 1);
  throws(() => assertNoLeakedWorkers(), {
    message: "1 worker(s) were left alive by the test",
  });
  equal(liveWorkers(), 0);
  worker.terminate(); // already ended by the check; terminating twice is harmless
});

Deno.test("the leak check passes when every worker was terminated", () => {
  const worker = new Worker("data:application/javascript,", { type: "module" });
  worker.terminate();
  assertNoLeakedWorkers();
  equal(liveWorkers(), 0);
});
