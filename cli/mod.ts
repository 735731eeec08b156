/**
 * The `troupe` command: run a supervised app, watch it live, list and run the examples, run the
 * benchmarks, scaffold a new app.
 *
 * ```sh
 * troupe run app.ts --observe 7070   # start the tree app.ts exports; serve the live view
 * troupe top                         # watch it in the terminal
 * troupe examples                    # list the examples; `troupe examples 01` runs one
 * troupe bench core                  # run a benchmark suite, print its ratios
 * troupe new my-app                  # scaffold a supervised worker app
 * ```
 *
 * @example Asking for the version
 * ```ts ignore
 * import { main } from "@troupe/troupe/cli";
 *
 * const code = await main(["--version"]);
 * console.log(code); // 0
 * ```
 *
 * @module
 */

import { Command, CommanderError } from "npm:@commander-js/extra-typings@15.1.0";
import meta from "../deno.json" with { type: "json" };
import type { Context } from "./_output.ts";
import { registerBench } from "./bench.ts";
import { registerExamples } from "./examples.ts";
import { registerNew } from "./new.ts";
import { registerRun } from "./run.ts";
import { registerTop } from "./top.ts";

/** The version of this command, from the package's deno.json. */
export const VERSION: string = meta.version;

/**
 * Runs the `troupe` command with its arguments and returns the exit code: 0 on success, 1 when
 * the work failed (the app's root failed, a system could not be reached), 2 for a usage error
 * (an unknown command or option, a missing file, an app that exports no supervisor).
 *
 * @param args The arguments after the program's name, as in `Deno.args`.
 * @returns The exit code.
 *
 * @example Printing the help
 * ```ts ignore
 * import { main } from "@troupe/troupe/cli";
 *
 * Deno.exit(await main(["--help"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const context: Context = { exitCode: 0 };
  const program = new Command("troupe")
    .description("Troupe: run, watch, try and scaffold supervised actor apps")
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "print this help")
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({
      writeOut: (text) => Deno.stdout.writeSync(new TextEncoder().encode(text)),
      writeErr: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
    });
  registerRun(program, context);
  registerTop(program, context);
  registerExamples(program, context);
  registerBench(program, context);
  registerNew(program, context);
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return context.exitCode;
}

// Installed as the `troupe` command (`deno install -g -A -n troupe ./cli/mod.ts`), this
// module is the program itself.
if (import.meta.main) {
  main(Deno.args).then((code) => Deno.exit(code));
}
