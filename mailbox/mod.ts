/**
 * Bounded queues and shared-memory primitives: the `Mailbox` every actor's messages wait in, with
 * overflow policies and a priority lane for system messages; `SharedEvent`, the cross-worker
 * `threading.Event`; and `SharedQueue`, the cross-worker `multiprocessing.Queue`.
 *
 * @example A mailbox that drops its oldest message when full
 * ```ts
 * import { Mailbox } from "@troupe/troupe/mailbox";
 * import { deepEqual } from "node:assert/strict";
 *
 * const dropped: number[] = [];
 * const mailbox = new Mailbox<number>({
 *   capacity: 2,
 *   overflow: "drop_oldest",
 *   onDrop: (item) => dropped.push(item),
 * });
 * mailbox.offer(1);
 * mailbox.offer(2);
 * mailbox.offer(3);
 * deepEqual(dropped, [1]);
 * deepEqual(mailbox.drain(), [2, 3]);
 * ```
 *
 * @module
 */

export {
  assertStorable,
  depthError,
  isRefData,
  MAX_DEPTH,
  MAX_READS,
  readsWithin,
  type RefData,
  registerRevivable,
  revive,
  type ReviveContext,
  type Reviver,
  type StorableOptions,
  withinDepth,
} from "./codec.ts";
export { type DropReason, Mailbox, type MailboxOptions, type OverflowPolicy } from "./mailbox.ts";
export { reviveShared, SharedEvent, type SharedEventWaitOptions } from "./shared_event.ts";
export {
  SharedQueue,
  type SharedQueueFromOptions,
  type SharedQueueOptions,
  type SharedQueueTryGet,
  type SharedQueueWaitOptions,
} from "./shared_queue.ts";
export type { Schema, SchemaInput, SchemaIssue, SchemaOutput, SchemaResult } from "./schema.ts";
