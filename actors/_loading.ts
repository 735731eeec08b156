/**
 * Which actor module this thread is importing for its actors. A module that starts an actor system
 * at its top level, and defines an actor with `url: import.meta.url`, would start that system again
 * in every worker that imports it for the actor, recursively; with this mark the system refuses to
 * start at once, naming the module and the fix.
 *
 * ```
 *   generated entry (worker / subprocess)      actor module (user code)
 *   import "data:…mark X"      ──────────▶ thread is loading X
 *   import * as m from X       ──────────▶ top level: ActorSystem.start() → Error naming X
 *   clear the mark; serve
 * ```
 *
 * The mark is a global keyed by a registered symbol, so every copy of Troupe loaded in the thread
 * (a checkout, the published package) sees it. Guest and host side; no imports.
 *
 * @module
 */

const KEY = Symbol.for("@troupe/troupe.loadingModules");
const IMPORTED = Symbol.for("@troupe/troupe.importedModules");

type Scope = { [KEY]?: string[] };

/** The modules being imported, oldest first (a shared worker may import several at once). */
function loading(): string[] {
  return (globalThis as Scope)[KEY] ??= [];
}

/** The actor or task module this thread is importing for its actors, if any. */
export function loadingModule(): string | undefined {
  return (globalThis as Scope)[KEY]?.at(-1);
}

/**
 * The modules this thread has imported for its actors, or is importing: their top level runs once,
 * under the first import's mark.
 */
function imported(): Set<string> {
  return (globalThis as { [IMPORTED]?: Set<string> })[IMPORTED] ??= new Set();
}

/**
 * Marks this thread as importing `url` for its actors while `load` runs, the first time only: a
 * later import of the same module (another actor of a shared worker) runs none of its code, and
 * marking it would refuse a system that an actor's `init` starts meanwhile.
 */
export async function whileLoading<T>(url: string, load: () => Promise<T>): Promise<T> {
  const started = imported();
  if (started.has(url)) return await load();
  started.add(url);
  const modules = loading();
  modules.push(url);
  try {
    return await load();
  } catch (error) {
    started.delete(url); // a failed import may be tried again, and run then
    throw error;
  } finally {
    modules.splice(modules.lastIndexOf(url), 1);
  }
}

/**
 * The opening lines of a generated entry module: a first static import that marks the thread as
 * loading `url` (static imports evaluate in order, so it runs before the actor's module).
 */
export function markLoadingSource(url: string): string {
  const mark = `(globalThis[Symbol.for(${JSON.stringify(KEY.description)})] ??= []).push(${
    JSON.stringify(url)
  });\n`;
  return `import ${JSON.stringify(`data:application/javascript,${encodeURIComponent(mark)}`)};\n`;
}

/** The statement of a generated entry module that clears its mark once its imports are loaded. */
export const CLEAR_LOADING_SOURCE = `globalThis[Symbol.for(${
  JSON.stringify(KEY.description)
})].pop();\n`;

/**
 * Throws when this thread is importing an actor or task module: what `what` would start there
 * would start again in every worker that imports the module.
 *
 * @param what What is being started, as an error message names it: `"an actor system"`.
 * @throws {Error} Naming the module and the two ways out.
 */
export function refuseWhileLoading(what: string): void {
  const url = loadingModule();
  if (url === undefined) return;
  throw new Error(
    `Cannot start ${what}: ${url} starts one at its top level, and a worker (or subprocess) is ` +
      "importing it to run the actors or tasks it defines, so every worker would start another. " +
      "Start it under `if (import.meta.main)`, or define the actors and tasks in a module of " +
      "their own",
  );
}
