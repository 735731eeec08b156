/**
 * Soak benchmark: sends messages for `--seconds` at `--rate` through an `at_least_once` worker
 * actor that crashes in every way (throw, an uncaught timer error, an unhandled rejection,
 * `Deno.exit`, `self.close()`, poison messages), waits for its mailbox to drain, and prints one
 * JSON line: where every message went, and RSS. Exits 0 when the targets hold (nothing lost, no
 * innocent message quarantined, nothing handled reported dead, every poison message quarantined,
 * max RSS ≤ RSS at 10 s + 50 MiB), 1 when one is missed (listed in `missed`), 2 on a bad flag.
 *
 *   deno task bench:soak [--seconds 60] [--rate 5000] [--crash-every 250] [--poison-every 5000]
 *                  [--seed 1] [--max-deliveries 3] [--prefetch 1024] [--drain-seconds 60]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { runSoak, soakVerdict } from "./_soak.ts";

const FLAGS = {
  seconds: { default: 60, min: 0.001, integer: false },
  rate: { default: 5_000, min: 1, integer: false },
  "crash-every": { default: 250, min: 0, integer: false },
  "poison-every": { default: 5_000, min: 0, integer: true },
  seed: { default: 1, min: 0, integer: true },
  "max-deliveries": { default: 3, min: 1, integer: true },
  prefetch: { default: 1_024, min: 1, integer: true },
  "drain-seconds": { default: 60, min: 0, integer: false },
} as const;

type Flag = keyof typeof FLAGS;

function parseFlags(args: string[]): Record<Flag, number> {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(
      Object.keys(FLAGS).map((name) => [name, { type: "string" as const }]),
    ),
    strict: true,
    allowPositionals: false,
  });
  const out = {} as Record<Flag, number>;
  for (const [name, spec] of Object.entries(FLAGS) as [Flag, (typeof FLAGS)[Flag]][]) {
    const raw = values[name];
    const value = raw === undefined ? spec.default : Number(raw);
    if (
      typeof raw === "string" && raw.trim() === "" || !Number.isFinite(value) ||
      value < spec.min || (spec.integer && !Number.isInteger(value))
    ) {
      const what = spec.integer ? "an integer" : "a number";
      throw new RangeError(`--${name} must be ${what} of at least ${spec.min}, received ${raw}`);
    }
    out[name] = value;
  }
  return out;
}

let flags: Record<Flag, number>;
try {
  flags = parseFlags(Deno.args);
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  Deno.exit(2);
}

const result = await runSoak({
  seconds: flags.seconds,
  rate: flags.rate,
  crashEvery: flags["crash-every"],
  poisonEvery: flags["poison-every"],
  seed: flags.seed,
  maxDeliveries: flags["max-deliveries"],
  prefetch: flags.prefetch,
  drainSeconds: flags["drain-seconds"],
});
const verdict = soakVerdict(result);
console.log(JSON.stringify({ ...result, targetsMet: verdict.met, missed: verdict.missed }));
Deno.exit(verdict.met ? 0 : 1);
