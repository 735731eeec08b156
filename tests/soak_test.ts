import { deepEqual, equal, ok } from "node:assert/strict";
import { runSoak } from "../bench/_soak.ts";
import { CRASH_KINDS } from "../bench/_soak_actor.ts";
import { liveWorkers, test } from "./_helpers.ts";

test("a short soak through every kind of crash loses nothing and quarantines only poison", async () => {
  const before = liveWorkers();
  const result = await runSoak({
    seconds: 3,
    rate: 1_000,
    crashEvery: 100,
    poisonEvery: 500,
    seed: 1,
    drainSeconds: 60,
  });
  const figures = `\nfigures: ${JSON.stringify(result)}`;
  equal(liveWorkers(), before, `the soak left workers running${figures}`);
  for (const kind of CRASH_KINDS) {
    ok(result.crashesPlanned[kind] > 0, `no "${kind}" crash${figures}`);
  }
  ok(result.poisonSent > 0, `no poison message${figures}`);
  try {
    deepEqual(
      {
        failure: result.failure,
        drained: result.drained,
        lost: result.lost,
        innocentQuarantined: result.innocentQuarantined,
        handledButDead: result.handledButDead,
        poisonQuarantined: result.poisonQuarantined,
      },
      {
        failure: undefined,
        drained: true,
        lost: 0,
        innocentQuarantined: 0,
        handledButDead: 0,
        poisonQuarantined: result.poisonSent,
      },
    );
  } catch (error) {
    (error as Error).message += figures;
    throw error;
  }
});
