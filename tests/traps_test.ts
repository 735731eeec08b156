/**
 * The traps a new user falls into: the README's snippets run as written, and a module that starts
 * a system at its top level while a worker imports it for its actors fails at once, naming itself.
 *
 * @module
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { ActorSystem, Pool } from "../mod.ts";
import { loadingModule, whileLoading } from "../actors/_loading.ts";
import { runDeno, test } from "./_helpers.ts";

const root = new URL("../", import.meta.url);

/** The message that refuses to start `what` while `url` is being imported for its actors. */
function refusal(what: string, url: string): string {
  return `Cannot start ${what}: ${url} starts one at its top level, and a worker (or subprocess) ` +
    "is importing it to run the actors or tasks it defines, so every worker would start another. " +
    "Start it under `if (import.meta.main)`, or define the actors and tasks in a module of " +
    "their own";
}

/** Runs `deno ARGS…` to the end (in the checkout unless `cwd` says otherwise). */
function deno(args: string[], cwd: string | URL = root) {
  return runDeno(args, cwd);
}

test("a system or a pool started while a module is imported for its actors is refused", async () => {
  const url = "file:///app/actors.ts";
  equal(loadingModule(), undefined);
  await whileLoading(url, async () => {
    equal(loadingModule(), url);
    await rejects(ActorSystem.start({ name: "app" }), {
      name: "Error",
      message: refusal("an actor system", url),
    });
    await rejects(Pool.start(new URL("./fixtures/tasks.ts", import.meta.url), { size: 1 }), {
      name: "Error",
      message: refusal("a pool", url),
    });
  });
  equal(loadingModule(), undefined);
  // A failed load clears its mark too.
  await rejects(whileLoading(url, () => Promise.reject(new Error("no such module"))));
  equal(loadingModule(), undefined);
});

test("overlapping imports keep the thread marked until the last one has loaded", async () => {
  const first = Promise.withResolvers<void>();
  const second = Promise.withResolvers<void>();
  const a = whileLoading("file:///a.ts", () => first.promise);
  const b = whileLoading("file:///b.ts", () => second.promise);
  equal(loadingModule(), "file:///b.ts");
  first.resolve(); // the first to start finishes first
  await a;
  equal(loadingModule(), "file:///b.ts");
  second.resolve();
  await b;
  equal(loadingModule(), undefined);
});

test("actors of one module spawned at once in a shared worker may start a system in init", async () => {
  const { Owner } = await import("./fixtures/nested_system.ts");
  await using system = await ActorSystem.start({ name: "app", sharedWorkers: 1 });
  // The second and third import the module while the first actor's init runs: they run none of
  // its code, so they must not mark the worker as loading it.
  const owners = await Promise.all(
    [1, 2, 3].map(() => system.spawn(Owner, { placement: "shared" })),
  );
  deepEqual(await Promise.all(owners.map((owner) => owner.ask("ping", {}))), [
    "started",
    "started",
    "started",
  ]);
});

const TRAP = "tests/fixtures/top_level_system.ts";
const TRAP_URL = new URL(`../${TRAP}`, import.meta.url).href;

for (const placement of ["worker", "shared", "process"]) {
  test(`a module that starts a system at its top level fails at once in a ${placement} placement`, async () => {
    const { code, stdout, stderr } = await deno(["run", "-A", "--no-check", TRAP, placement]);
    equal(code, 1, stderr);
    equal(stdout, "");
    ok(stderr.includes(refusal("an actor system", TRAP_URL)), stderr);
    ok(stderr.includes("SpawnError: Cannot start /counter"), stderr);
    ok(!stderr.includes("heartbeat"), stderr);
  });
}

test("a task module that starts a pool at its top level fails at once in the pool's worker", async () => {
  const file = "tests/fixtures/top_level_pool.ts";
  const { code, stdout, stderr } = await deno(["run", "-A", "--no-check", file]);
  equal(code, 1, stderr);
  equal(stdout, "");
  ok(stderr.includes(refusal("a pool", new URL(`../${file}`, import.meta.url).href)), stderr);
});

/** The ```ts blocks of the README, each with the heading it stands under. */
async function readmeBlocks(): Promise<{ heading: string; code: string }[]> {
  const text = await Deno.readTextFile(new URL("README.md", root));
  const blocks: { heading: string; code: string }[] = [];
  let heading = "";
  for (const [, title, code] of text.matchAll(/^## (.+)$|^```ts\n([\s\S]*?)^```$/gm)) {
    if (title !== undefined) heading = title;
    else blocks.push({ heading, code });
  }
  return blocks;
}

/** The README's ```ts block under `heading`. */
async function readmeBlock(heading: string): Promise<{ heading: string; code: string }> {
  const block = (await readmeBlocks()).find((block) => block.heading === heading);
  ok(block !== undefined, `the README has no ts block under "${heading}"`);
  return block;
}

/** The checkout's deno.json: it maps `@troupe/troupe` (the package itself) and `zod`. */
const config = new URL("deno.json", root).pathname;

test("the README's quick start type-checks and runs as written", async () => {
  const blocks = await readmeBlocks();
  deepEqual(blocks.map((block) => block.heading), [
    "Quick start",
    "Actors that talk to each other",
    "Patterns from Python, typed",
    "Testing your actors",
  ]);
  const dir = await Deno.makeTempDir({ prefix: "troupe_readme_" });
  try {
    // Verbatim, resolved through the checkout's deno.json, as the README says.
    await Deno.writeTextFile(`${dir}/app.ts`, blocks[0].code);
    const checked = await deno(["check", "--config", config, "app.ts"], dir);
    equal(checked.code, 0, checked.stderr);
    const ran = await deno(
      ["run", "-A", "--unstable-worker-options", "--config", config, "app.ts"],
      dir,
    );
    equal(ran.code, 0, ran.stderr);
    equal(ran.stdout, "2\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("the README's pool snippet type-checks against the test tasks", async () => {
  const patterns = await readmeBlock("Patterns from Python, typed");
  const dir = await Deno.makeTempDir({ prefix: "troupe_readme_" });
  try {
    // Its tasks.ts is the tests' task module, which exports square and sleepy.
    const tasks = new URL("tests/fixtures/tasks.ts", root).href;
    await Deno.writeTextFile(
      `${dir}/patterns.ts`,
      patterns.code.replaceAll('"./tasks.ts"', JSON.stringify(tasks)),
    );
    const checked = await deno(["check", "--config", config, "patterns.ts"], dir);
    equal(checked.code, 0, checked.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("the README's test snippet passes as written", async () => {
  const testing = await readmeBlock("Testing your actors");
  const dir = await Deno.makeTempDir({ prefix: "troupe_readme_" });
  try {
    // Verbatim, resolved through the checkout's deno.json, as the README says.
    await Deno.writeTextFile(`${dir}/shop_test.ts`, testing.code);
    const ran = await deno(["test", "-A", "--config", config, "shop_test.ts"], dir);
    equal(ran.code, 0, ran.stdout + ran.stderr);
    ok(ran.stdout.includes("2 passed"), ran.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("the README's refs snippet runs as written: refs in args, messages and replies, children, watches, timers", async () => {
  const { code } = await readmeBlock("Actors that talk to each other");
  const text = await Deno.readTextFile(new URL("README.md", root));
  const printed = /`deno run -A refs\.ts` prints:\n\n```\n([\s\S]*?)```/.exec(text);
  ok(printed !== null, "the README does not show what refs.ts prints");
  const dir = await Deno.makeTempDir({ prefix: "troupe_readme_" });
  try {
    // Verbatim, resolved through the checkout's deno.json, as the README says.
    await Deno.writeTextFile(`${dir}/refs.ts`, code);
    const checked = await deno(["check", "--config", config, "refs.ts"], dir);
    equal(checked.code, 0, checked.stderr);
    const ran = await deno(["run", "-A", "--config", config, "refs.ts"], dir);
    equal(ran.code, 0, ran.stderr);
    equal(ran.stdout, printed[1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
