/**
 * The soak: messages at a steady rate, for a while, through an `at_least_once` worker actor
 * ({@linkcode SoakWorker}) that crashes in every way a worker can, then an exact account of where
 * every message went. `bench/soak.ts` runs it from the command line, `tests/soak_test.ts` runs a
 * short one.
 *
 * Each message has an id. The actor counts each run that completed, per id, in shared memory; the
 * dead letters the system reports are recorded per id too. Once the mailbox has drained:
 *
 * - handled: ids that completed at least once; duplicated: ids that completed more than once;
 * - quarantined: ids dead-lettered `"quarantined"`, split into poison and innocent ones;
 * - handled but dead: ids dead-lettered (for any reason) that had completed;
 * - lost: ids neither completed nor dead-lettered.
 *
 * @module
 */

import { ActorSystem, child, type DeadLetterReason, supervisor } from "../mod.ts";
import { CRASH_KINDS, type CrashKind, SoakWorker } from "./_soak_actor.ts";
import { seededRandom } from "../examples/_common.ts";

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  /** How long to send, in seconds. */
  seconds: number;
  /** Messages per second, paced by the clock in one batch per tick. */
  rate: number;
  /**
   * One message in this many (at random) crashes the actor on its first run, the crash kinds
   * taken in turn; 0 for none.
   */
  crashEvery: number;
  /** Every this-many-th message is poison: it crashes the actor on every run; 0 for none. */
  poisonEvery: number;
  /**
   * The seed of the random choice of crashing messages.
   *
   * @default {1}
   */
  seed?: number;
  /**
   * Crashes a message may cause before it is quarantined.
   *
   * @default {3}
   */
  maxDeliveries?: number;
  /**
   * The actor's prefetch window.
   *
   * @default {1024}
   */
  prefetch?: number;
  /**
   * The actor's mailbox capacity (`send` waits for room beyond it).
   *
   * @default {10000}
   */
  capacity?: number;
  /**
   * How long to wait for the mailbox to drain after the last send, in seconds.
   *
   * @default {60}
   */
  drainSeconds?: number;
  /**
   * The pacing tick, in milliseconds.
   *
   * @default {10}
   */
  tickMs?: number;
}

/** The figures of one soak. */
export interface SoakResult {
  readonly seconds: number;
  readonly rate: number;
  readonly crashEvery: number;
  readonly poisonEvery: number;
  readonly seed: number;
  readonly maxDeliveries: number;
  readonly prefetch: number;
  /** Messages sent (accepted by the mailbox). */
  readonly sent: number;
  /** Ids that completed at least once. */
  readonly handled: number;
  /** Ids neither completed nor dead-lettered at the end. */
  readonly lost: number;
  /** Ids that completed more than once. */
  readonly duplicated: number;
  /** Ids dead-lettered `"quarantined"`. */
  readonly quarantined: number;
  /** Poison ids quarantined. */
  readonly poisonQuarantined: number;
  /** Ids that are not poison, quarantined. */
  readonly innocentQuarantined: number;
  /** Ids dead-lettered, for any reason, that had completed. */
  readonly handledButDead: number;
  /** Process RSS after the system started, before the first send, in MiB. */
  readonly rssStartMb: number;
  /** RSS 10 s into the sending (at the end of the sending for a shorter soak), in MiB. */
  readonly rssAt10sMb: number;
  /** The largest RSS sampled (every 250 ms) from the start to the end of the drain, in MiB. */
  readonly rssMaxMb: number;
  /** Poison messages sent. */
  readonly poisonSent: number;
  /** Messages sent to crash on their first run, per kind (poison ones apart). */
  readonly crashesPlanned: Readonly<Record<CrashKind, number>>;
  /** Dead-lettered ids per reason. */
  readonly deadLetters: Readonly<Partial<Record<DeadLetterReason, number>>>;
  /** `crashed` events of the actor. */
  readonly crashes: number;
  /** `hung` events. */
  readonly hung: number;
  /** Messages sent per second, achieved. */
  readonly sendRate: number;
  /** Milliseconds from the last send until the mailbox was empty (or the drain gave up). */
  readonly drainMs: number;
  /** Whether the mailbox drained within `drainSeconds`. */
  readonly drained: boolean;
  /** Messages still queued or unacknowledged at the end. */
  readonly queuedAtEnd: number;
  /**
   * What kept the soak from running as planned, if anything: a send failed (the actor stopped,
   * the system shut down), the actor is gone, or dead letters arrived without a soak id.
   */
  readonly failure: string | undefined;
}

/** The soak's targets, and which of them a result missed. */
export interface SoakVerdict {
  /** Whether every target holds. */
  readonly met: boolean;
  /** One line per missed target, with the figure. */
  readonly missed: readonly string[];
}

const MIB = 2 ** 20;
const RSS_SAMPLE_MS = 250;
const RSS_REFERENCE_MS = 10_000;
const RSS_GROWTH_LIMIT_MB = 50;
const DRAIN_POLL_MS = 50;

/** Flags per id: which crash kind (index + 1, 0 for none) and whether it is poison. */
const POISON = 0x80;

/** Codes of the dead-letter reasons recorded per id (0: not dead-lettered). */
const REASONS: readonly DeadLetterReason[] = [
  "invalid",
  "overflow",
  "stopped",
  "crashed",
  "quarantined",
  "expired",
  "undeliverable",
];

/**
 * Runs one soak and returns its figures. The system it starts is shut down before it returns or
 * throws, so no worker outlives it.
 *
 * @param options How long, how fast, how often to crash.
 * @returns The figures.
 */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const seed = options.seed ?? 1;
  const maxDeliveries = options.maxDeliveries ?? 3;
  const prefetch = options.prefetch ?? 1024;
  const capacity = options.capacity ?? 10_000;
  const drainMs = (options.drainSeconds ?? 60) * 1000;
  const tickMs = options.tickMs ?? 10;
  const total = Math.floor(options.seconds * options.rate);

  const started = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, total)));
  const completed = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, total)));
  const plans = new Uint8Array(total);
  const dead = new Uint8Array(total);
  const random = seededRandom(seed);
  const crashesPlanned = Object.fromEntries(CRASH_KINDS.map((kind) => [kind, 0])) as Record<
    CrashKind,
    number
  >;
  let poisonSent = 0;
  let innocentTurn = 0;
  let poisonTurn = 0;
  const plan = (id: number): { id: number; crash: CrashKind | "none"; poison: boolean } => {
    if (options.poisonEvery > 0 && id % options.poisonEvery === options.poisonEvery - 1) {
      const kind = CRASH_KINDS[poisonTurn++ % CRASH_KINDS.length];
      plans[id] = POISON | (CRASH_KINDS.indexOf(kind) + 1);
      poisonSent++;
      return { id, crash: kind, poison: true };
    }
    if (options.crashEvery > 0 && random() < 1 / options.crashEvery) {
      const kind = CRASH_KINDS[innocentTurn++ % CRASH_KINDS.length];
      plans[id] = CRASH_KINDS.indexOf(kind) + 1;
      crashesPlanned[kind]++;
      return { id, crash: kind, poison: false };
    }
    return { id, crash: "none", poison: false };
  };

  const root = supervisor({
    intensity: { maxRestarts: 100_000, periodMs: 1_000 },
    backoff: { initialMs: 0, jitter: 0 },
    children: [
      child("soak", SoakWorker, {
        args: { started, completed },
        placement: "worker",
        spare: true,
        delivery: "at_least_once",
        maxDeliveries,
        prefetch,
        mailbox: { capacity, overflow: "backpressure" },
      }),
    ],
  });
  await using system = await ActorSystem.start({
    name: "soak",
    root,
    heartbeat: { intervalMs: 1_000, timeoutMs: 10_000 },
  });
  const worker = system.lookup(SoakWorker, "/soak");

  let crashes = 0;
  let hung = 0;
  let strayLetters = 0;
  const off = system.events.on((event) => {
    if (event.type === "crashed" && event.path === "/soak") crashes++;
    else if (event.type === "hung") hung++;
    else if (event.type === "dead_letter") {
      const id = (event.letter.payload as { id?: unknown } | null)?.id;
      if (typeof id === "number" && Number.isInteger(id) && id >= 0 && id < total) {
        dead[id] ||= REASONS.indexOf(event.letter.reason) + 1;
      } else strayLetters++;
    }
  });

  let sendStart: number | undefined;
  const rss = () => Deno.memoryUsage().rss / MIB;
  const rssStart = rss();
  let rssMax = rssStart;
  let rssAt10s: number | undefined;
  const sampler = setInterval(() => {
    const now = rss();
    rssMax = Math.max(rssMax, now);
    if (rssAt10s === undefined && sendStart !== undefined) {
      if (performance.now() - sendStart >= RSS_REFERENCE_MS) rssAt10s = now;
    }
  }, RSS_SAMPLE_MS);

  let sent = 0;
  let failure: string | undefined;
  let sendEnd = 0;
  let drained = false;
  let queuedAtEnd = 0;
  try {
    sendStart = performance.now();
    const endAt = sendStart + options.seconds * 1000;
    while (sent < total && failure === undefined) {
      const now = performance.now();
      if (now >= endAt) break;
      const due = Math.min(total, Math.floor(((now - sendStart) / 1000) * options.rate));
      const batch: Promise<void>[] = [];
      while (sent < due) batch.push(worker.send("work", plan(sent++)));
      try {
        await Promise.all(batch);
      } catch (error) {
        failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      await delay(tickMs);
    }
    sendEnd = performance.now();
    rssAt10s ??= rss();
    rssMax = Math.max(rssMax, rssAt10s);

    const drainUntil = sendEnd + drainMs;
    for (;;) {
      const queued = depth(system);
      if (queued === undefined) {
        failure ??= "the soak actor is gone";
        break;
      }
      queuedAtEnd = queued;
      if (queued === 0) {
        drained = true;
        break;
      }
      if (performance.now() >= drainUntil) break;
      await delay(DRAIN_POLL_MS);
    }
    rssMax = Math.max(rssMax, rss());
  } finally {
    clearInterval(sampler);
    off();
  }
  const drainEnd = performance.now();

  let handled = 0;
  let duplicated = 0;
  let lost = 0;
  let handledButDead = 0;
  let poisonQuarantined = 0;
  let innocentQuarantined = 0;
  const deadLetters: Partial<Record<DeadLetterReason, number>> = {};
  const quarantinedCode = REASONS.indexOf("quarantined") + 1;
  for (let id = 0; id < sent; id++) {
    const runs = Atomics.load(completed, id);
    if (runs > 0) handled++;
    if (runs > 1) duplicated++;
    const code = dead[id];
    if (code !== 0) {
      const reason = REASONS[code - 1];
      deadLetters[reason] = (deadLetters[reason] ?? 0) + 1;
      if (runs > 0) handledButDead++;
      if (code === quarantinedCode) {
        if (plans[id] & POISON) poisonQuarantined++;
        else innocentQuarantined++;
      }
    } else if (runs === 0) lost++;
  }
  if (strayLetters > 0) failure ??= `${strayLetters} dead letters without a soak id`;

  const sendSeconds = Math.max(1e-3, (sendEnd - (sendStart ?? sendEnd)) / 1000);
  return {
    seconds: options.seconds,
    rate: options.rate,
    crashEvery: options.crashEvery,
    poisonEvery: options.poisonEvery,
    seed,
    maxDeliveries,
    prefetch,
    sent,
    handled,
    lost,
    duplicated,
    quarantined: poisonQuarantined + innocentQuarantined,
    poisonQuarantined,
    innocentQuarantined,
    handledButDead,
    rssStartMb: round(rssStart),
    rssAt10sMb: round(rssAt10s ?? rssStart),
    rssMaxMb: round(rssMax),
    poisonSent,
    crashesPlanned,
    deadLetters,
    crashes,
    hung,
    sendRate: Math.round(sent / sendSeconds),
    drainMs: Math.round(drainEnd - sendEnd),
    drained,
    queuedAtEnd,
    failure,
  };
}

/**
 * Checks a result against the soak's targets: no failure and the mailbox drained,
 * nothing lost, no innocent message quarantined, nothing handled reported dead, every poison
 * message quarantined, and RSS flat (its maximum at most 50 MiB above its value at 10 s).
 *
 * @param result The figures of a soak.
 * @returns Whether every target holds, and a line per missed one.
 */
export function soakVerdict(result: SoakResult): SoakVerdict {
  const missed: string[] = [];
  if (result.failure !== undefined) missed.push(`failure: ${result.failure}`);
  if (!result.drained) missed.push(`not drained: ${result.queuedAtEnd} messages left`);
  if (result.lost !== 0) missed.push(`lost ${result.lost}, target 0`);
  if (result.innocentQuarantined !== 0) {
    missed.push(`innocentQuarantined ${result.innocentQuarantined}, target 0`);
  }
  if (result.handledButDead !== 0) missed.push(`handledButDead ${result.handledButDead}, target 0`);
  if (result.poisonQuarantined !== result.poisonSent) {
    missed.push(`poisonQuarantined ${result.poisonQuarantined}, target ${result.poisonSent}`);
  }
  if (result.rssMaxMb > result.rssAt10sMb + RSS_GROWTH_LIMIT_MB) {
    missed.push(
      `rssMaxMb ${result.rssMaxMb}, target <= rssAt10sMb + ${RSS_GROWTH_LIMIT_MB} (${
        round(result.rssAt10sMb + RSS_GROWTH_LIMIT_MB)
      })`,
    );
  }
  return { met: missed.length === 0, missed };
}

/** Messages queued or unacknowledged at the soak actor; `undefined` once it is gone. */
function depth(system: ActorSystem): number | undefined {
  return system.stats().actors.find((actor) => actor.path === "/soak")?.mailboxDepth;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round(mb: number): number {
  return Math.round(mb * 10) / 10;
}
