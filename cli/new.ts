// `troupe new DIR`: scaffolds a small supervised worker app that passes its own tests.

import type { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { basename, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import meta from "../deno.json" with { type: "json" };
import { CliError, type Context, isTty, palette, reportError, write } from "./_output.ts";

/** Registers `new` on the program. */
export function registerNew(program: Command, context: Context): void {
  program.command("new")
    .description("Scaffold a small supervised worker app (deno.json, app, tests, README)")
    .argument("<dir>", "where to create it; must not exist or be empty")
    .option(
      "--troupe <from>",
      "where the app imports Troupe from: the folder or file: URL of a checkout, or the URL or " +
        "registry specifier of a published version (default: where this command runs from)",
    )
    .action(async (dir, options) => {
      try {
        context.exitCode = await scaffold(dir, options.troupe ?? defaultTroupe());
      } catch (error) {
        reportError(error);
        context.exitCode = error instanceof CliError ? error.code : 1;
      }
    });
}

/**
 * Where a new app imports Troupe from unless told otherwise: the package this command runs from.
 * That is the folder of a checkout, or, when the command was loaded over the network, the URL of
 * that published version's root (the app then imports the very version that made it).
 */
export function defaultTroupe(moduleUrl: string = import.meta.url): string {
  const url = new URL(moduleUrl);
  const root = new URL("..", url);
  return url.protocol === "file:" ? fileURLToPath(root) : root.href;
}

/**
 * The import map entries of a new app in `appDir` for Troupe and its command. `from` is a registry
 * specifier of the package (`scheme:name@version`), the `https:` URL of a published version's
 * root, or the folder (or `file:` URL) of a checkout, which is written relative to the app so that
 * no absolute path of this machine is pinned.
 */
export function troupeImports(from: string, appDir: string): Record<string, string> {
  if (/^https?:/.test(from)) {
    const root = from.endsWith("/") ? from : `${from}/`;
    return {
      "@troupe/troupe": new URL("mod.ts", root).href,
      "@troupe/troupe/cli": new URL("cli/mod.ts", root).href,
    };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(from) && !from.startsWith("file:")) {
    return { "@troupe/troupe": from, "@troupe/troupe/cli": `${from}/cli` };
  }
  const folder = /^file:/.test(from) ? fileURLToPath(from) : resolve(Deno.cwd(), from);
  const path = relative(resolve(Deno.cwd(), appDir), folder).split(sep).join("/") || ".";
  const prefix = path === "." || path.startsWith("../") ? path : `./${path}`;
  return { "@troupe/troupe": `${prefix}/mod.ts`, "@troupe/troupe/cli": `${prefix}/cli/mod.ts` };
}

/** The files of a new app in `appDir`, by relative path. */
export function appFiles(name: string, appDir: string, from: string): Record<string, string> {
  const config = {
    imports: { ...troupeImports(from, appDir), zod: meta.imports.zod },
    nodeModulesDir: "auto",
    unstable: ["worker-options"],
    tasks: {
      start: "deno run -A main.ts",
      // Type-checks once, then runs the tests without checking each worker's entry again.
      test: "deno check main.ts app_test.ts && deno test -A --no-check",
      troupe: "deno run -A @troupe/troupe/cli",
    },
  };
  return {
    "deno.json": `${JSON.stringify(config, null, 2)}\n`,
    "app.ts": APP,
    "main.ts": MAIN,
    "app_test.ts": TEST,
    "README.md": readme(name),
  };
}

async function scaffold(dir: string, from: string): Promise<number> {
  const path = resolve(Deno.cwd(), dir);
  try {
    const stat = await Deno.stat(path);
    if (!stat.isDirectory) throw new CliError(`Cannot create "${dir}": it is a file`, 2);
    for await (const _ of Deno.readDir(path)) {
      throw new CliError(`Cannot create "${dir}": the directory exists and is not empty`, 2);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(path, { recursive: true });
  const name = basename(path);
  for (const [file, text] of Object.entries(appFiles(name, path, from))) {
    await Deno.writeTextFile(join(path, file), text);
  }
  const c = palette(isTty());
  write(
    `${c.green("Created")} ${c.bold(name)} in ${path}\n\n` +
      `  cd ${dir}\n  deno task test     ${c.dim("# run its tests")}\n` +
      `  deno task start    ${c.dim("# run it; Ctrl-C stops it cleanly")}\n` +
      `  deno task troupe run app.ts  ${c.dim("# run its tree with the troupe command")}\n`,
  );
  return 0;
}

const APP = `/**
 * The app: a tally actor in a Web Worker, under a supervisor that restarts it if it crashes.
 * \`troupe run app.ts\` starts this tree; main.ts starts it by hand.
 *
 * @module
 */
import { ask, child, defineActor, supervisor } from "@troupe/troupe";
import { z } from "zod";

/** Adds up amounts; refuses negative ones by crashing (and is restarted). */
export const Tally = defineActor({
  name: "tally",
  url: import.meta.url,
  protocol: {
    add: z.object({ amount: z.number().int() }),
    total: ask(z.object({}), z.number()),
  },
  init: (args: { start?: number } | undefined) => ({ total: args?.start ?? 0 }),
  handlers: {
    add(state, msg) {
      if (msg.amount < 0) throw new RangeError(\`Cannot add \${msg.amount}: amounts are positive\`);
      state.total += msg.amount;
    },
    total: (state) => state.total,
  },
});

/** The supervision tree. */
export default supervisor({
  strategy: "one_for_one",
  children: [child("tally", Tally, { args: { start: 0 } })],
});
`;

const MAIN = `/**
 * Starts the app's supervision tree, adds a few amounts, prints the total, and runs until Ctrl-C.
 *
 *   deno task start
 *
 * @module
 */
import { ActorSystem } from "@troupe/troupe";
import app, { Tally } from "./app.ts";

const system = await ActorSystem.start({ name: "app", root: app, signals: ["SIGINT", "SIGTERM"] });
const tally = system.lookup(Tally, "/tally");
for (const amount of [1, 2, 3]) tally.tell("add", { amount });
console.log(\`total: \${await tally.ask("total", {})} (Ctrl-C to stop)\`);
const error = await system.closed();
Deno.exit(error === undefined ? 0 : 1);
`;

const TEST = `import { ActorSystem } from "@troupe/troupe";
import { equal } from "node:assert/strict";
import app, { Tally } from "./app.ts";

Deno.test("the tally adds the amounts it is told", async () => {
  await using system = await ActorSystem.start({ name: "test" });
  const tally = await system.spawn(Tally, { placement: "local", args: { start: 10 } });
  tally.tell("add", { amount: 5 });
  tally.tell("add", { amount: 7 });
  equal(await tally.ask("total", {}), 22);
});

Deno.test("the supervised tally in its worker survives a crash", async () => {
  await using system = await ActorSystem.start({ name: "test", root: app });
  const tally = system.lookup(Tally, "/tally");
  tally.tell("add", { amount: 4 });
  equal(await tally.ask("total", {}), 4);
  tally.tell("add", { amount: -1 }); // crashes; the supervisor restarts it with fresh state
  let total: number | undefined;
  for (let attempt = 0; attempt < 100 && total === undefined; attempt++) {
    try {
      total = await tally.ask("total", {});
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  equal(total, 0);
});
`;

function readme(name: string): string {
  return `# ${name}

A small supervised worker app built on [Troupe](https://jsr.io/@troupe/troupe): a \`Tally\` actor
runs in its own Web Worker under a supervisor that restarts it when it crashes.

- \`app.ts\`: the actor and the supervision tree (\`export default supervisor(…)\`)
- \`main.ts\`: starts the tree and runs until Ctrl-C
- \`app_test.ts\`: tests of the actor

\`\`\`sh
deno task test              # type-check, then run the tests
deno task start             # run the app
deno task troupe run app.ts # or let troupe run the tree and print its lifecycle events
\`\`\`

\`deno.json\` maps \`@troupe/troupe\` and \`@troupe/troupe/cli\` to the published package; point both
at another copy of Troupe (a checkout's \`mod.ts\` and \`cli/mod.ts\`) to work against it.
`;
}
