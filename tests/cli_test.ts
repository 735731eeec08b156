// The `troupe` command, run for real as a subprocess.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import { spawnLines } from "./_helpers.ts";

const root = new URL("..", import.meta.url).pathname;
const main = new URL("../cli/main.ts", import.meta.url).pathname;
const fixture = (name: string) => `tests/fixtures/${name}`;
const hasObserve = typeof (ActorSystem.prototype as { observe?: unknown }).observe === "function";

/** Runs `troupe …` to the end; stdout and stderr as text. */
async function troupe(args: string[], cwd = root) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", main, ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Starts `troupe …` in the background; its stdout lines are collected as they come. */
function spawnTroupe(args: string[]) {
  const spawned = spawnLines(Deno.execPath(), {
    args: ["run", "-A", "--no-check", main, ...args],
    cwd: root,
    stdin: "null",
    stderr: "piped",
  });
  const stderr = new Response(spawned.process.stderr).text();
  const stop = async () => {
    await spawned.stop();
    await stderr.catch(() => {});
  };
  return { ...spawned, stderr, stop };
}

Deno.test("--help lists every command and exits 0", async () => {
  const { code, stdout } = await troupe(["--help"]);
  equal(code, 0);
  match(stdout, /^Usage: troupe \[options\] \[command\]/);
  for (const command of ["run", "top", "examples", "bench", "new"]) {
    match(stdout, new RegExp(`\\n  ${command} `));
  }
});

Deno.test("every command has its --help", async () => {
  for (const command of ["run", "top", "examples", "bench", "new"]) {
    const { code, stdout } = await troupe([command, "--help"]);
    equal(code, 0);
    match(stdout, new RegExp(`^Usage: troupe ${command} `));
  }
});

Deno.test("--version prints the version of deno.json", async () => {
  const { default: meta } = await import("../deno.json", { with: { type: "json" } });
  const { code, stdout } = await troupe(["--version"]);
  equal(code, 0);
  equal(stdout, `${meta.version}\n`);
});

Deno.test("an unknown command exits 2 with a one-line error and the usage", async () => {
  const { code, stdout, stderr } = await troupe(["frobnicate"]);
  equal(code, 2);
  equal(stdout, "");
  const [first, ...rest] = stderr.split("\n");
  equal(first, "error: unknown command 'frobnicate'");
  match(rest.join("\n"), /Usage: troupe \[options\] \[command\]/);
  ok(!stderr.includes("    at "), "no stack trace");
});

Deno.test("an unknown option exits 2 with a one-line error and the command's usage", async () => {
  const { code, stderr } = await troupe(["run", "--frob", fixture("cli_app.ts")]);
  equal(code, 2);
  equal(stderr.split("\n")[0], "error: unknown option '--frob'");
  match(stderr, /Usage: troupe run \[options\] <app>/);
});

Deno.test("a bad option value exits 2", async () => {
  const { code, stderr } = await troupe(["run", "--observe", "nope", fixture("cli_app.ts")]);
  equal(code, 2);
  match(stderr.split("\n")[0], /^error: option '--observe <port>' argument 'nope' is invalid/);
});

Deno.test("run starts the app's tree, prints JSON lines when piped, and exits 0 on SIGTERM", async () => {
  const app = spawnTroupe(["run", fixture("cli_app.ts")]);
  try {
    await app.waitFor((line) => line.includes('"/jobs/worker"'));
    app.process.kill("SIGTERM");
    await app.ended;
    equal((await app.process.status).code, 0);
    const events = app.lines.map((line) => JSON.parse(line));
    for (const event of events) ok(!Number.isNaN(Date.parse(event.time)), "each has a time");
    deepEqual(
      events.map((event) => [event.type, event.path]),
      [
        ["started", "/greeter"],
        ["started", "/jobs/worker"],
        ["shutdown", "/"],
        ["stopped", "/jobs/worker"],
        ["stopped", "/jobs"],
        ["stopped", "/greeter"],
        ["closed", "/"],
      ],
    );
    equal(events[0].placement, "local");
    equal(await app.stderr, "");
  } finally {
    await app.stop();
  }
});

Deno.test("run --json --shutdown-timeout shuts down on SIGINT and exits 0", async () => {
  const app = spawnTroupe(["run", "--json", "--shutdown-timeout", "1000", fixture("cli_app.ts")]);
  try {
    await app.waitFor((line) => line.includes('"/jobs/worker"'));
    app.process.kill("SIGINT");
    await app.ended;
    equal((await app.process.status).code, 0);
    const types = app.lines.map((line) => JSON.parse(line).type);
    ok(types.includes("shutdown"));
    equal(types.at(-1), "closed");
  } finally {
    await app.stop();
  }
});

Deno.test("run of a missing file exits 2 with a one-line message", async () => {
  const { code, stdout, stderr } = await troupe(["run", "tests/fixtures/cli_app_missing.ts"]);
  equal(code, 2);
  equal(stdout, "");
  equal(
    stderr,
    `error: Cannot run "tests/fixtures/cli_app_missing.ts": no such file (${root}tests/fixtures/cli_app_missing.ts)\n`,
  );
});

Deno.test("run of a file without a default supervisor exits 2 with a one-line message", async () => {
  const { code, stderr } = await troupe(["run", fixture("cli_app_nodefault.ts")]);
  equal(code, 2);
  equal(
    stderr,
    'error: Cannot run "tests/fixtures/cli_app_nodefault.ts": expected a default export made by supervisor() (export default supervisor({ children: [...] })), found no default export\n',
  );
});

Deno.test("run of a file that throws at import exits 2 with a one-line message", async () => {
  const { code, stderr } = await troupe(["run", fixture("cli_app_throws.ts")]);
  equal(code, 2);
  equal(
    stderr,
    'error: Cannot run "tests/fixtures/cli_app_throws.ts": importing it threw Error: the database is not configured\n',
  );
  const verbose = await troupe(["run", "--verbose", fixture("cli_app_throws.ts")]);
  equal(verbose.code, 2);
  match(verbose.stderr, /\n {4}at .*cli_app_throws\.ts/);
});

Deno.test({
  name: "run --observe serves /stats at the URL it prints, and a busy port exits 2",
  ignore: !hasObserve,
  async fn() {
    const app = spawnTroupe(["run", "--observe", "0", fixture("cli_app.ts")]);
    try {
      const line = await app.waitFor((line) => line.includes('"observing"'));
      const { url } = JSON.parse(line);
      match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const stats = await (await fetch(new URL("/stats", url))).json();
      equal(stats.name, "cli_app");
      equal(stats.tree.kind, "supervisor");
      deepEqual(stats.tree.children.map((node: { path: string }) => node.path), [
        "/greeter",
        "/jobs",
      ]);
      const port = new URL(url).port;
      const busy = await troupe(["run", "--observe", port, fixture("cli_app.ts")]);
      equal(busy.code, 2);
      equal(busy.stderr, `error: Cannot observe on port ${port}: the port is already in use\n`);
      app.process.kill("SIGTERM");
      await app.ended;
      equal((await app.process.status).code, 0);
    } finally {
      await app.stop();
    }
  },
});

Deno.test("examples lists every example with its seed, and an unknown one exits 2", async () => {
  const { code, stdout } = await troupe(["examples"]);
  equal(code, 0);
  const files = [...Deno.readDirSync(`${root}examples`)]
    .map((entry) => entry.name)
    .filter((name) => /^\d\d_.+\.ts$/.test(name));
  ok(files.length >= 10);
  for (const file of files) {
    const name = file.replace(/^\d\d_/, "").replace(/\.ts$/, "").replaceAll("_", "-");
    match(stdout, new RegExp(`\\b${file.slice(0, 2)}  ${name} `));
  }
  match(stdout, /\bdemo\b/);
  match(stdout, /reproduces seed 000: "Multi-tasking in Python"/);
  const unknown = await troupe(["examples", "nope"]);
  equal(unknown.code, 2);
  match(unknown.stderr, /^error: Unknown example "nope": expected one of typed-actors, /);
});

Deno.test("examples NAME runs it and passes its exit code through", async () => {
  const { code, stdout } = await troupe(["examples", "00"]);
  equal(code, 0);
  ok(stdout.length > 0);
});

Deno.test("bench refuses an unknown suite with exit 2", async () => {
  const { code, stderr } = await troupe(["bench", "nope"]);
  equal(code, 2);
  equal(stderr, 'error: Unknown suite "nope": expected one of core, restart, patterns\n');
});

Deno.test("top of an unreachable URL exits 1 with a one-line message", async () => {
  const { code, stderr } = await troupe(["top", "http://127.0.0.1:9"]);
  equal(code, 1);
  equal(stderr.split("\n").length, 2);
  match(stderr, /^error: Cannot reach http:\/\/127\.0\.0\.1:9: /);
});

Deno.test("new scaffolds an app whose own tests pass, and refuses a non-empty dir", async () => {
  const parent = await Deno.makeTempDir({ prefix: "troupe_new_" });
  try {
    const dir = `${parent}/my-app`;
    const created = await troupe(["new", dir]);
    equal(created.code, 0, created.stderr);
    const files = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
    deepEqual(files, ["README.md", "app.ts", "app_test.ts", "deno.json", "main.ts"]);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
    equal(config.imports["@troupe/troupe"], new URL("../mod.ts", import.meta.url).href);
    equal(config.nodeModulesDir, "auto");
    const test = await new Deno.Command(Deno.execPath(), {
      args: ["task", "test"],
      cwd: dir,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const report = new TextDecoder().decode(test.stdout) + new TextDecoder().decode(test.stderr);
    equal(test.code, 0, report);
    match(report, /ok \| 2 passed \| 0 failed/);
    const again = await troupe(["new", dir]);
    equal(again.code, 2);
    equal(again.stderr, `error: Cannot create "${dir}": the directory exists and is not empty\n`);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});
