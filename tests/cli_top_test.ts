// `troupe top`, driven in a pseudo-terminal with tmux, and piped.
import { equal, match, ok } from "node:assert/strict";
import { ActorSystem } from "../mod.ts";

const root = new URL("..", import.meta.url).pathname;
const main = new URL("../cli/main.ts", import.meta.url).pathname;
const hasObserve = typeof (ActorSystem.prototype as { observe?: unknown }).observe === "function";
const hasTmux = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** Starts `troupe run --observe 0` on the fixture app; resolves with its URL. */
async function startObservedApp() {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "-A",
      "--no-check",
      main,
      "run",
      "--observe",
      "0",
      "tests/fixtures/cli_app.ts",
    ],
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stop = async () => {
    try {
      process.kill("SIGKILL");
    } catch {
      // already ended
    }
    await reader.cancel().catch(() => {});
    await process.status;
  };
  let buffered = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) {
      await stop();
      throw new Error(`the app ended before it printed its URL:\n${buffered}`);
    }
    buffered += value;
    const line = buffered.split("\n").find((line) => line.includes('"observing"'));
    if (line) {
      // Keep draining stdout so that the app never blocks on a full pipe.
      void (async () => {
        while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
      })();
      return { url: JSON.parse(line).url as string, stop };
    }
  }
}

function tmux(...args: string[]) {
  const output = new Deno.Command("tmux", { args, stdout: "piped", stderr: "piped" }).outputSync();
  return { ok: output.success, stdout: new TextDecoder().decode(output.stdout) };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

Deno.test({
  name: "top in a terminal shows the actors of a running app and quits on q",
  ignore: !hasTmux || !hasObserve,
  async fn() {
    const app = await startObservedApp();
    const session = `troupe_top_${Deno.pid}_${Date.now()}`;
    const done = await Deno.makeTempFile({ prefix: "troupe_top_" });
    try {
      const command =
        `'${Deno.execPath()}' run --quiet -A --no-check '${main}' top '${app.url}'; ` +
        `echo "exit $?" > '${done}'; sleep 30`;
      ok(tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command).ok);
      const screen = await until("the view", () => {
        const pane = tmux("capture-pane", "-p", "-t", session).stdout;
        return pane.includes("worker") && pane.includes("greeter") ? pane : undefined;
      });
      match(screen, /troupe top {2}cli_app/);
      match(screen, /ACTOR\s+PLACEMENT\s+STATUS\s+MAILBOX\s+MSG\/S\s+RESTARTS\s+LAST ERROR/);
      match(screen, /^ {2}greeter\s+local\s+running\s+0\s+[\d.]+\s+0/m);
      match(screen, /^ {2}jobs\s+\[one_for_one\]/m);
      match(screen, /^ {4}worker\s+local\s+running/m);
      match(screen, /q or Ctrl-C to quit/);
      tmux("send-keys", "-t", session, "q");
      const exit = await until("top to quit", () => {
        const text = Deno.readTextFileSync(done);
        return text.includes("exit") ? text.trim() : undefined;
      }, 5_000);
      equal(exit, "exit 0");
    } finally {
      tmux("kill-session", "-t", session);
      await Deno.remove(done).catch(() => {});
      await app.stop();
    }
  },
});

Deno.test({
  name: "top piped prints one plain snapshot without escape codes and exits 0",
  ignore: !hasObserve,
  async fn() {
    const app = await startObservedApp();
    try {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "-A", "--no-check", main, "top", app.url],
        cwd: root,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(output.stdout);
      equal(output.code, 0, new TextDecoder().decode(output.stderr));
      ok(!stdout.includes("\x1b"), "no escape codes");
      equal(stdout.match(/troupe top/g)?.length, 1, "one snapshot");
      match(stdout, /^ {2}greeter\s+local\s+running\s+0\s+0\.0\s+0$/m);
      match(stdout, /^ {4}worker\s+local\s+running/m);
    } finally {
      await app.stop();
    }
  },
});

Deno.test({
  name: "top --count prints that many snapshots",
  ignore: !hasObserve,
  async fn() {
    const app = await startObservedApp();
    try {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "-A",
          "--no-check",
          main,
          "top",
          app.url,
          "--interval",
          "100",
          "--count",
          "3",
        ],
        cwd: root,
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).output();
      equal(output.code, 0);
      equal(new TextDecoder().decode(output.stdout).match(/troupe top/g)?.length, 3);
    } finally {
      await app.stop();
    }
  },
});
