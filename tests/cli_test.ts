// The `troupe` command, run for real as a subprocess.
import { deepEqual, equal, match, ok } from "node:assert/strict";
import { ActorSystem } from "../mod.ts";
import { dirname, relative, sep } from "node:path";
import { defaultTroupe, troupeImports } from "../cli/new.ts";
import { runDeno, spawnLines } from "./_helpers.ts";

const root = new URL("..", import.meta.url).pathname;
const main = new URL("../cli/main.ts", import.meta.url).pathname;
const fixture = (name: string) => `tests/fixtures/${name}`;
const hasObserve = typeof (ActorSystem.prototype as { observe?: unknown }).observe === "function";

/** Runs `troupe …` to the end; stdout and stderr as text. */
function troupe(args: string[], cwd = root) {
  // --quiet: Deno's own notices (a first run's "Download …") are not the command's output.
  return runDeno(["run", "--quiet", "-A", "--no-check", main, ...args], cwd);
}

/** Starts `troupe …` in the background; its stdout lines are collected as they come. */
function spawnTroupe(args: string[]) {
  const spawned = spawnLines(Deno.execPath(), {
    // --quiet: Deno's own notices (a first run's "Download …") are not the command's output.
    args: ["run", "--quiet", "-A", "--no-check", main, ...args],
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

/** Runs `deno ARGS…` in `cwd` to the end; its exit code, stdout, and stdout and stderr together. */
async function deno(args: string[], cwd: string, env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await runDeno(args, cwd, { env });
  return { code, stdout, report: stdout + stderr };
}

Deno.test("new scaffolds an app whose own tests pass, and refuses a non-empty dir", async () => {
  const parent = await Deno.makeTempDir({ prefix: "troupe_new_" });
  try {
    const dir = `${parent}/my-app`;
    // As a newcomer runs it: the app imports the checkout this command runs from.
    const created = await troupe(["new", dir]);
    equal(created.code, 0, created.stderr);
    const files = [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
    deepEqual(files, ["README.md", "app.ts", "app_test.ts", "deno.json", "main.ts"]);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
    const checkout = relative(dir, root).split(sep).join("/");
    equal(config.imports["@troupe/troupe"], `${checkout}/mod.ts`);
    equal(config.imports["@troupe/troupe/cli"], `${checkout}/cli/mod.ts`);
    equal(config.nodeModulesDir, "auto");
    deepEqual(config.unstable, ["worker-options"]);
    const test = await deno(["task", "test"], dir);
    equal(test.code, 0, test.report);
    match(test.report, /ok \| 2 passed \| 0 failed/);
    // Checked once up front, so the tests do not type-check each worker's entry again.
    equal(test.report.includes("Check data:"), false, test.report);
    const version = await deno(["task", "troupe", "--version"], dir);
    equal(version.code, 0, version.report);
    match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const again = await troupe(["new", dir]);
    equal(again.code, 2);
    equal(again.stderr, `error: Cannot create "${dir}": the directory exists and is not empty\n`);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("new imports its checkout by a relative path, never an absolute path of this machine", async () => {
  const parent = await Deno.makeTempDir({ prefix: "troupe_new_" });
  try {
    const created = await troupe(["new", `${parent}/app`]);
    equal(created.code, 0, created.stderr);
    const config = JSON.parse(await Deno.readTextFile(`${parent}/app/deno.json`));
    equal(config.tasks.troupe, "deno run -A @troupe/troupe/cli");
    for (const entry of Deno.readDirSync(`${parent}/app`)) {
      const text = await Deno.readTextFile(`${parent}/app/${entry.name}`);
      equal(text.includes("file:"), false, `${entry.name} names a file: URL`);
      // An absolute path starts a string or a word; the relative one only contains it.
      const absolute = new RegExp(`(^|["'\\s])${root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`);
      equal(absolute.test(text), false, `${entry.name} names this checkout's absolute path`);
    }
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("a troupe loaded from the registry scaffolds apps that import that version", async () => {
  const { default: meta } = await import("../deno.json", { with: { type: "json" } });
  const published = `https://registry.example/@troupe/troupe/${meta.version}/`;
  const from = defaultTroupe(`${published}cli/new.ts`);
  equal(from, published);
  deepEqual(troupeImports(from, "/anywhere/app"), {
    "@troupe/troupe": `${published}mod.ts`,
    "@troupe/troupe/cli": `${published}cli/mod.ts`,
  });
  deepEqual(troupeImports("npm:@troupe/troupe@1", "/anywhere/app"), {
    "@troupe/troupe": "npm:@troupe/troupe@1",
    "@troupe/troupe/cli": "npm:@troupe/troupe@1/cli",
  });
  equal(defaultTroupe(new URL("../cli/new.ts", import.meta.url).href), root);
});

Deno.test("the cli module installs as the troupe command, which runs apps; examples and bench need a checkout", async () => {
  const { default: meta } = await import("../deno.json", { with: { type: "json" } });
  const tmp = await Deno.makeTempDir({ prefix: "troupe_install_" });
  // The installed script runs `deno`: the one running these tests.
  const env = { PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}` };
  const install = (cwd: string, module: string, into: string) =>
    deno(
      ["install", "-g", "--root", into, "-A", "--unstable-worker-options", "-n", "troupe", module],
      cwd,
    );
  const run = (into: string, args: string[]) =>
    new Deno.Command(`${into}/bin/troupe`, {
      args,
      cwd: tmp,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    }).output().then((output) => ({
      code: output.code,
      stdout: new TextDecoder().decode(output.stdout),
      // The installed script runs `deno run` without --quiet: Deno's own notices are not ours.
      stderr: new TextDecoder().decode(output.stderr).replace(/^(Download|Initialize) .*\n/gm, ""),
    }));
  try {
    // As the README says, from this checkout.
    const installed = await install(root, "./cli/mod.ts", `${tmp}/checkout`);
    equal(installed.code, 0, installed.report);
    const help = await run(`${tmp}/checkout`, ["--help"]);
    equal(help.code, 0, help.stderr);
    match(help.stdout, /^Usage: troupe \[options\] \[command\]/);
    const version = await run(`${tmp}/checkout`, ["--version"]);
    deepEqual(version, { code: 0, stdout: `${meta.version}\n`, stderr: "" });

    // It runs an app that resolves Troupe through its own deno.json, as `troupe new` writes it.
    const made = await run(`${tmp}/checkout`, ["new", `${tmp}/app`, "--troupe", root]);
    equal(made.code, 0, made.stderr);
    const app = spawnLines(`${tmp}/checkout/bin/troupe`, {
      args: ["run", "app.ts", "--json"],
      cwd: `${tmp}/app`,
      stdin: "null",
      stderr: "piped",
      env: { NO_COLOR: "1", ...env },
    });
    const stderr = new Response(app.process.stderr).text();
    try {
      await app.waitFor((line) => line.includes('"type":"started","path":"/tally"'));
      app.process.kill("SIGTERM");
      equal((await app.process.status).code, 0, await stderr);
      await app.ended;
      ok(app.lines.some((line) => line.includes('"type":"closed"')), app.lines.join("\n"));
    } finally {
      await app.stop();
      await stderr;
    }

    // From the files the package publishes: no examples or benchmarks beside the command.
    const published = `${tmp}/package`;
    await copyPublished(published, meta.publish.exclude);
    const packaged = await install(published, `${published}/cli/mod.ts`, `${tmp}/package-root`);
    equal(packaged.code, 0, packaged.report);
    deepEqual(await run(`${tmp}/package-root`, ["--version"]), {
      code: 0,
      stdout: `${meta.version}\n`,
      stderr: "",
    });
    for (const command of ["examples", "bench"]) {
      const refused = await run(`${tmp}/package-root`, [command]);
      equal(refused.code, 2, refused.stderr);
      equal(refused.stdout, "");
      match(
        refused.stderr,
        new RegExp(
          `^error: Cannot run "troupe ${command}": it needs a checkout of the Troupe repository, ` +
            `and there is no ${command}/ folder beside this command \\(file://.*\\); clone the ` +
            `repository and run "deno task troupe ${command}" in it\n$`,
        ),
      );
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

/** Copies the files of this checkout that `deno publish` ships (not its `exclude`d folders). */
async function copyPublished(to: string, exclude: string[]): Promise<void> {
  const skipped = new Set([...exclude.map((path) => path.replace(/\/$/, "")), "node_modules"]);
  const copy = async (from: string, into: string) => {
    await Deno.mkdir(into, { recursive: true });
    for await (const entry of Deno.readDir(from)) {
      if (entry.name.startsWith(".") || (from === root && skipped.has(entry.name))) continue;
      if (entry.isDirectory) await copy(`${from}${entry.name}/`, `${into}/${entry.name}`);
      else if (entry.isFile) await Deno.copyFile(`${from}${entry.name}`, `${into}/${entry.name}`);
    }
  };
  await copy(root, to);
}

Deno.test("the library's npm specifiers pin the versions of deno.json's import map", async () => {
  const { default: meta } = await import("../deno.json", { with: { type: "json" } });
  const pins = new Map(
    Object.values(meta.imports).map((spec) => [spec.replace(/@[^@]+$/, ""), spec]),
  );
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(`${root}${dir}`)) {
      const path = `${dir}${entry.name}`;
      if (entry.isDirectory && !/^(tests|bench|examples|node_modules|\.)/.test(path)) {
        await walk(`${path}/`);
      } else if (entry.isFile && path.endsWith(".ts")) {
        const text = await Deno.readTextFile(`${root}${path}`);
        for (const [, spec] of text.matchAll(/^(?:import|export)\b[^;]*? from "(npm:[^"]+)"/gm)) {
          found.push(spec);
          equal(pins.get(spec.replace(/@[^@]+$/, "")), spec, `${path} imports ${spec}`);
        }
      }
    }
  };
  await walk("");
  ok(found.includes(meta.imports.zod), "no module imports zod by its full specifier");
});
