// `troupe bench [SUITE]`: runs the benchmark scripts with `--json`, shows progress, prints ratios.

import type { Command } from "npm:@commander-js/extra-typings@15.1.0";
import {
  CliError,
  type Context,
  errorJson,
  isTty,
  needsCheckout,
  palette,
  repoFolder,
  reportError,
  write,
  writeErr,
} from "./_output.ts";

/** The benchmark suites, each a script of `bench/`. */
export const SUITES = ["core", "restart", "patterns"] as const;

/** A suite's name. */
export type Suite = typeof SUITES[number];

/** One line of the final table. */
interface Ratio {
  suite: Suite;
  measure: string;
  ratio: number | undefined;
  target: string;
  met: boolean | undefined;
}

/** Registers `bench` on the program. */
export function registerBench(program: Command, context: Context): void {
  program.command("bench")
    .description("Run the benchmarks and print the table of ratios")
    .argument("[suite]", `one of ${SUITES.join(", ")} (default: all)`)
    .option("--json", "print the collected JSON of every suite instead of the table")
    .action(async (suite, options) => {
      try {
        context.exitCode = await bench(suite, options.json === true);
      } catch (error) {
        reportError(error);
        context.exitCode = error instanceof CliError ? error.code : 1;
      }
    });
}

async function bench(suite: string | undefined, json: boolean): Promise<number> {
  if (suite !== undefined && !(SUITES as readonly string[]).includes(suite)) {
    throw new CliError(`Unknown suite "${suite}": expected one of ${SUITES.join(", ")}`, 2);
  }
  const dir = repoFolder("bench");
  if (dir === undefined) throw needsCheckout("bench", "bench");
  const suites = suite === undefined ? [...SUITES] : [suite as Suite];
  const results: Partial<Record<Suite, unknown>> = {};
  const failures: string[] = [];
  const progress = progressReporter(suites.length);
  for (const [index, name] of suites.entries()) {
    const outcome = await runSuite(`${dir}${name}.ts`, (elapsed) => progress(index, name, elapsed));
    progress(index, name, outcome.elapsed, outcome.ok ? "done" : "failed");
    if (outcome.ok) results[name] = outcome.result;
    else failures.push(`${name}: ${outcome.error}`);
  }
  if (json) {
    write(`${JSON.stringify(results)}\n`);
  } else {
    write(table(ratios(results)));
  }
  for (const failure of failures) writeErr(`error: Benchmark ${failure}\n`);
  return failures.length === 0 ? 0 : 1;
}

/** Progress on stderr: one line redrawn with `\r` on a terminal, plain lines otherwise. */
function progressReporter(total: number) {
  const tty = Deno.stderr.isTerminal();
  const c = palette(tty && !Deno.env.get("NO_COLOR"));
  const spinner = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
  let tick = 0;
  return (index: number, name: string, elapsedMs: number, state?: "done" | "failed") => {
    const seconds = `${(elapsedMs / 1000).toFixed(1)} s`;
    if (!tty) {
      if (state === undefined && elapsedMs === 0) {
        writeErr(`[${index + 1}/${total}] ${name}: running\n`);
      } else if (state) writeErr(`[${index + 1}/${total}] ${name}: ${state} in ${seconds}\n`);
      return;
    }
    const done = index + (state ? 1 : 0);
    const bar = "█".repeat(Math.round(20 * done / total)).padEnd(20, "░");
    const mark = state === "done"
      ? c.green("✔")
      : state === "failed"
      ? c.red("✘")
      : spinner[tick++ % spinner.length];
    writeErr(`\r\x1b[2K${bar} [${index + 1}/${total}] ${mark} ${name} ${c.dim(seconds)}`);
    if (state) writeErr("\n");
  };
}

async function runSuite(
  file: string,
  onTick: (elapsedMs: number) => void,
): Promise<
  { ok: true; result: unknown; elapsed: number } | {
    ok: false;
    error: string;
    elapsed: number;
  }
> {
  const started = performance.now();
  onTick(0);
  const timer = setInterval(() => onTick(performance.now() - started), 100);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", file, "--json"],
      cwd: new URL("..", `file://${file}`).pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = await child.output();
    const elapsed = performance.now() - started;
    const stdout = new TextDecoder().decode(output.stdout).trim();
    if (!output.success) {
      const stderr = new TextDecoder().decode(output.stderr).trim().split("\n").at(-1) ?? "";
      return { ok: false, error: `exited with ${output.code}: ${stderr}`, elapsed };
    }
    const last = stdout.split("\n").at(-1) ?? "";
    try {
      return { ok: true, result: JSON.parse(last), elapsed };
    } catch (error) {
      return { ok: false, error: `printed no JSON (${errorJson(error).message})`, elapsed };
    }
  } finally {
    clearInterval(timer);
  }
}

function ratios(results: Partial<Record<Suite, unknown>>): Ratio[] {
  const out: Ratio[] = [];
  const core = results.core as
    | { tellRatio?: number; askRatio?: number; peerTellRatio?: number; peerAskRatio?: number }
    | undefined;
  if (core) {
    out.push({
      suite: "core",
      measure: "tell throughput, Troupe / raw postMessage",
      ratio: core.tellRatio,
      target: "≥ 5×",
      met: core.tellRatio === undefined ? undefined : core.tellRatio >= 5,
    }, {
      suite: "core",
      measure: "ask p50 latency, Troupe / raw postMessage",
      ratio: core.askRatio,
      target: "≤ 1.3×",
      met: core.askRatio === undefined ? undefined : core.askRatio <= 1.3,
    }, {
      suite: "core",
      measure: "tell throughput actor to actor, Troupe / raw MessageChannel",
      ratio: core.peerTellRatio,
      target: "≥ 5×",
      met: core.peerTellRatio === undefined ? undefined : core.peerTellRatio >= 5,
    }, {
      suite: "core",
      measure: "ask p50 latency actor to actor, Troupe / raw MessageChannel",
      ratio: core.peerAskRatio,
      target: "≤ 2.5×",
      met: core.peerAskRatio === undefined ? undefined : core.peerAskRatio <= 2.5,
    });
  }
  const restart = results.restart as
    | { coldOverSpare?: number; spare?: { p50: number } }
    | undefined;
  if (restart) {
    out.push({
      suite: "restart",
      measure: "restart p50, cold / warm spare",
      ratio: restart.coldOverSpare,
      target: "spare p50 ≤ 1 ms",
      met: restart.spare === undefined ? undefined : restart.spare.p50 <= 1,
    });
  }
  const patterns = results.patterns as
    | { rows?: { measure: string; ratio: number | null; target: string; met: boolean | null }[] }
    | undefined;
  for (const row of patterns?.rows ?? []) {
    out.push({
      suite: "patterns",
      measure: row.measure,
      ratio: row.ratio ?? undefined,
      target: row.target,
      met: row.met ?? undefined,
    });
  }
  return out;
}

function table(rows: Ratio[]): string {
  const c = palette(isTty());
  const cells = rows.map((row) => [
    row.suite,
    row.measure,
    row.ratio === undefined ? "n/a" : `${row.ratio.toFixed(2)}×`,
    row.target,
    row.met === undefined ? "n/a" : row.met ? "yes" : "NO",
  ]);
  const header = ["suite", "measure", "ratio", "target", "met"];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => row[column].length))
  );
  const line = (row: string[]) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [
    c.bold(line(header)),
    ...cells.map((row) => {
      const text = line(row);
      return row[4] === "NO" ? c.red(text) : row[4] === "yes" ? c.green(text) : text;
    }),
  ].join("\n") + "\n";
}
