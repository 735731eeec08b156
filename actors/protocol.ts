/**
 * What the host and the guest both need to know of a protocol: its kinds by wire index, and the
 * validation of a payload or a reply against a kind's schemas. The host validates on the caller's
 * thread (and an untrusted guest's replies again); the guest validates at the trust boundary.
 * Neither side imports the other's files: both import this one.
 *
 * @module
 */

import { InvalidMessageError } from "../errors.ts";
import { formatIssues } from "../_util.ts";
import type { ActorDefinition, Schema } from "./define.ts";
import { isAsk } from "./define.ts";
import { DOWN_INDEX } from "../mailbox/wire.ts";

/** One message kind, resolved once per definition. */
export interface KindEntry {
  readonly kind: string;
  readonly index: number;
  readonly ask: boolean;
  readonly request: Schema;
  readonly reply: Schema | undefined;
}

const tables = new WeakMap<ActorDefinition, readonly KindEntry[]>();

/** The kinds of a definition by wire index, computed once per definition. */
export function kindTable(def: ActorDefinition): readonly KindEntry[] {
  let table = tables.get(def);
  if (table === undefined) {
    table = def.kinds.map((kind, index) => {
      const schema = def.protocol[kind];
      return isAsk(schema)
        ? { kind, index, ask: true, request: schema.request, reply: schema.reply }
        : { kind, index, ask: false, request: schema, reply: undefined };
    });
    tables.set(def, table);
  }
  return table;
}

/**
 * Validates a payload against a kind's schema.
 *
 * @returns The parsed payload (unknown keys stripped), or the `InvalidMessageError` to report.
 */
export function validate(
  path: string,
  entry: KindEntry,
  payload: unknown,
): { ok: true; value: unknown } | { ok: false; error: InvalidMessageError } {
  let result: ReturnType<Schema["safeParse"]>;
  try {
    result = entry.request.safeParse(payload);
  } catch (cause) {
    // A payload nested deeply enough overflows the schema's recursion: refuse it, do not crash.
    const detail = `(root): could not be validated (${
      cause instanceof Error ? cause.message : "unknown error"
    })`;
    return { ok: false, error: new InvalidMessageError(path, entry.kind, detail, { cause }) };
  }
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    error: new InvalidMessageError(path, entry.kind, formatIssues(result.error), {
      cause: result.error,
    }),
  };
}

/**
 * Validates an ask's reply against its kind's reply schema, in the guest after the handler returned
 * and again on the host when the guest is not trusted.
 *
 * @returns The parsed reply, or the `InvalidMessageError` to reject the ask with.
 */
export function validateReply(
  path: string,
  entry: KindEntry,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; error: InvalidMessageError } {
  let reply: ReturnType<Schema["safeParse"]>;
  try {
    reply = entry.reply!.safeParse(value);
  } catch (cause) {
    // A refinement or transform of the reply schema threw, or the reply overflowed its recursion:
    // refuse the reply, do not crash.
    const message = cause instanceof Error ? cause.message : "unknown error";
    reply = { success: false, error: { issues: [{ path: [], message }] } };
  }
  if (reply.success) return { ok: true, value: reply.data };
  const detail = `reply ${formatIssues(reply.error)}`;
  return {
    ok: false,
    error: new InvalidMessageError(path, entry.kind, detail, { cause: reply.error }),
  };
}

/**
 * The entry a watched actor's end runs under (`onDown`): a tell of no protocol, at `DOWN_INDEX`.
 * The host queues it in the watcher's mailbox; the guest runs `onDown` for it.
 */
export const DOWN_ENTRY: KindEntry = {
  kind: "onDown",
  index: DOWN_INDEX,
  ask: false,
  request: undefined as unknown as KindEntry["request"],
  reply: undefined,
};

/** Whether a delivery at `DOWN_INDEX` carries a watched actor's end, as the host makes them. */
export function isDownData(payload: unknown): boolean {
  if (typeof payload !== "object" || payload === null) return false;
  const data = payload as Record<string, unknown>;
  return typeof data.path === "string" && (data.reason === "stopped" || data.reason === "crashed");
}
