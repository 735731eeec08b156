import { deepEqual, equal } from "node:assert/strict";
import { spawnLines } from "./_helpers.ts";

const appPath = new URL("./fixtures/signal_app.ts", import.meta.url).pathname;

/** Starts the app in a subprocess and resolves once it printed "ready". */
async function startApp(...args: string[]) {
  const app = spawnLines(Deno.execPath(), {
    args: ["run", "-A", "--no-check", appPath, ...args],
    stderr: "inherit",
  });
  const waitFor = (line: string) => app.waitFor((seen) => seen === line);
  await waitFor("ready");
  return { ...app, waitFor };
}

Deno.test("SIGTERM shuts the tree down leaves first in reverse order and exits 0", async () => {
  const app = await startApp();
  app.process.kill("SIGTERM");
  await app.ended;
  const status = await app.process.status;
  deepEqual(app.lines, ["ready", "stop d", "stop c", "stop b", "stop a", "closed cleanly"]);
  equal(status.code, 0);
});

Deno.test("SIGINT delivered twice at once (as under deno task) is one graceful shutdown", async () => {
  const app = await startApp();
  app.process.kill("SIGINT");
  app.process.kill("SIGINT");
  await app.ended;
  const status = await app.process.status;
  deepEqual(app.lines, ["ready", "stop d", "stop c", "stop b", "stop a", "closed cleanly"]);
  equal(status.code, 0);
});

Deno.test("a second signal later forces the kill of a shutdown that hangs", async () => {
  const app = await startApp("--hang-on-stop");
  app.process.kill("SIGTERM");
  await app.waitFor("stop d"); // the hanging onStop has begun
  await new Promise((resolve) => setTimeout(resolve, 100)); // a later signal, not a duplicate
  app.process.kill("SIGTERM");
  await app.ended;
  const status = await app.process.status;
  equal(status.code, 130);
  deepEqual(app.lines, ["ready", "stop d"]);
});
