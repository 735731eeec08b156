import { deepEqual, equal } from "node:assert/strict";

const app = new URL("./fixtures/signal_app.ts", import.meta.url).pathname;

/** Starts the app in a subprocess; its stdout lines are collected as they come. */
async function startApp(...args: string[]) {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", app, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  let wake = () => {};
  const ended = (async () => {
    let buffered = "";
    for await (const chunk of process.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      lines.push(...parts);
      wake();
    }
  })();
  const waitFor = async (line: string) => {
    while (!lines.includes(line)) {
      const woken = new Promise<void>((resolve) => wake = resolve);
      const done = await Promise.race([woken.then(() => false), ended.then(() => true)]);
      if (done && !lines.includes(line)) {
        throw new Error(`The app ended without printing "${line}"`);
      }
    }
  };
  await waitFor("ready");
  return { process, lines, waitFor, ended };
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
