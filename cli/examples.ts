// `troupe examples [NAME]`: lists the examples with the seed each reproduces, or runs one.

import type { Command } from "npm:@commander-js/extra-typings@15.1.0";
import { runDenoChild } from "./_child.ts";
import {
  CliError,
  type Context,
  isTty,
  needsCheckout,
  palette,
  repoFolder,
  reportError,
  write,
} from "./_output.ts";

/** One runnable example of the repository. */
export interface Example {
  /** Its short name, as in `deno task example:NAME` (`asyncio-wait`), or `demo`. */
  name: string;
  /** Its number (`01`), or `""` for the demo. */
  number: string;
  /** The file's absolute path. */
  file: string;
  /** The first line of its header comment. */
  summary: string;
  /** The seed it reproduces (`seed 000: "Multi-tasking in Python"`), if it names one. */
  seed: string | undefined;
}

/** Registers `examples` on the program. */
export function registerExamples(program: Command, context: Context): void {
  program.command("examples")
    .description("List the examples with the seed each reproduces, or run one")
    .argument("[name]", "an example to run: its name (asyncio-wait), number (01) or demo")
    .argument("[args...]", "arguments for the example, after -- (troupe examples 01 -- --quick)")
    .action(async (name, args) => {
      try {
        context.exitCode = name === undefined ? list() : await runExample(name, args);
      } catch (error) {
        reportError(error);
        context.exitCode = error instanceof CliError ? error.code : 1;
      }
    });
}

/** The examples folder, or a usage error when this copy of Troupe is not a checkout. */
function folder(): string {
  const found = repoFolder("examples");
  if (found === undefined) throw needsCheckout("examples", "examples");
  return found;
}

/** Reads the examples (`NN_*.ts`) and the demo of the repository's examples folder. */
export function readExamples(dir = folder()): Example[] {
  const files = [...Deno.readDirSync(dir)]
    .filter((entry) => entry.isFile && /^(\d\d_.+|demo)\.ts$/.test(entry.name))
    .map((entry) => entry.name)
    .sort((a, b) => (a === "demo.ts" ? 1 : b === "demo.ts" ? -1 : a.localeCompare(b)));
  return files.map((fileName) => {
    const file = `${dir}${fileName}`;
    const text = Deno.readTextFileSync(file);
    const header = text.match(/^\/\*\*([\s\S]*?)\*\//)?.[1] ?? "";
    const lines = header.split("\n").map((line) => line.replace(/^\s*\* ?/, "").trim());
    const start = lines.findIndex((line) => line !== "");
    const end = lines.indexOf("", start);
    const paragraph = lines.slice(start, end === -1 ? undefined : end).join(" ");
    const summary = paragraph.replace(/^\d\d\s*·\s*/, "").split(/(?<=\.)\s/, 1)[0]
      .replace(/\.$/, "");
    const flat = lines.join(" ");
    const match = flat.match(/Seed (\d+) \(([^)]*)\)/);
    let seed: string | undefined;
    if (match) {
      const about = match[2].split(",").map((part) => part.trim())
        .filter((part) => !/\.txt$/.test(part)).join(", ");
      seed = `seed ${match[1]}${about ? `: ${about}` : ""}`;
    }
    const number = fileName.match(/^(\d\d)_/)?.[1] ?? "";
    const name = fileName === "demo.ts"
      ? "demo"
      : fileName.replace(/^\d\d_/, "").replace(/\.ts$/, "").replaceAll("_", "-");
    return { name, number, file, summary, seed };
  });
}

function list(): number {
  const examples = readExamples();
  const c = palette(isTty());
  const width = Math.max(...examples.map((example) => example.name.length));
  write(c.bold("Examples") + c.dim("  (troupe examples NAME to run one)\n"));
  for (const example of examples) {
    const number = example.number || "  ";
    write(
      `  ${c.dim(number)}  ${c.cyan(example.name.padEnd(width))}  ${example.summary}\n` +
        (example.seed
          ? `      ${" ".repeat(width)}  ${c.dim(`reproduces ${example.seed}`)}\n`
          : ""),
    );
  }
  return 0;
}

/** Finds an example by name, number or file name. */
export function findExample(examples: Example[], name: string): Example | undefined {
  const wanted = name.replace(/\.ts$/, "").toLowerCase();
  return examples.find((example) =>
    example.name === wanted ||
    (example.number !== "" &&
      (example.number === wanted || example.number === wanted.padStart(2, "0"))) ||
    example.file.endsWith(`/${wanted}.ts`)
  );
}

async function runExample(name: string, args: string[]): Promise<number> {
  const examples = readExamples();
  const example = findExample(examples, name);
  if (example === undefined) {
    throw new CliError(
      `Unknown example "${name}": expected one of ${
        examples.map((example) => example.name).join(", ")
      }`,
      2,
    );
  }
  // The child gets the terminal's Ctrl-C itself; this process waits for it and passes its code.
  return await runDenoChild(["run", "-A", example.file, ...args], {
    cwd: new URL("..", `file://${example.file}`).pathname,
  });
}
