/**
 * The hand-made worker of example 06, a Web Worker started with `new Worker(url)`: it takes
 * numbers from a `SharedQueue` until the queue is closed and drained (seed 003 stops its workers
 * with a `None` sentinel instead), puts each square on a second queue, and reports how many it
 * served.
 *
 * @module
 */

import { SharedQueue } from "../mod.ts";

/** What the main thread posts to start the loop. */
export interface LoopRequest {
  /** The task queue, as structured clone delivers it. */
  tasks: unknown;
  /** The result queue, likewise. */
  results: unknown;
  /** This worker's number. */
  worker: number;
}

/** What the worker puts on the result queue for each task. */
export interface LoopResult {
  worker: number;
  input: number;
  result: number;
}

/** What the worker posts back once the task queue is closed and empty, or on an error. */
export type LoopReport = { worker: number; served: number } | { worker: number; error: string };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<LoopRequest>) => void) | null;
  postMessage(report: LoopReport): void;
};

scope.onmessage = ({ data }) => {
  try {
    const tasks = SharedQueue.from<number>(data.tasks);
    const results = SharedQueue.from<LoopResult>(data.results);
    let served = 0;
    for (;;) {
      let input: number;
      try {
        input = tasks.getSync(); // blocks this worker, not the main thread
      } catch (error) {
        if ((error as Error).name === "MailboxClosedError") break; // closed and drained
        throw error;
      }
      results.putSync({ worker: data.worker, input, result: input * input });
      served++;
    }
    scope.postMessage({ worker: data.worker, served });
  } catch (error) {
    scope.postMessage({ worker: data.worker, error: String(error) });
  }
};
