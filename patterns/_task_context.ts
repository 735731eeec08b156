/**
 * The pool task running on this thread, shared by the pool worker (which sets it around each call)
 * and `task.ts` (whose functions read it).
 *
 * @module
 */

/** One running task; its controller is made when `taskSignal()` asks for it. */
export interface RunningTask {
  controller: AbortController | undefined;
}

/** The task whose function is being called on this thread, if any. */
export const running: { current: RunningTask | undefined } = { current: undefined };
