/**
 * Runs another `deno` process that shares this one's terminal: the terminal's Ctrl-C reaches the
 * child itself, so this process ignores SIGINT while it waits; a SIGTERM sent to this process is
 * passed on. `troupe examples NAME` and an installed `troupe run` use it.
 *
 * @module
 */

/**
 * Runs `deno` with `args` on the inherited stdin, stdout and stderr, and returns its exit code.
 *
 * @param args The arguments after the `deno` executable.
 * @param options Where it runs and what it adds to the environment.
 */
export async function runDenoChild(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<number> {
  const ignore = () => {};
  Deno.addSignalListener("SIGINT", ignore);
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const forward = () => child.kill("SIGTERM");
    Deno.addSignalListener("SIGTERM", forward);
    try {
      return (await child.status).code;
    } finally {
      Deno.removeSignalListener("SIGTERM", forward);
    }
  } finally {
    Deno.removeSignalListener("SIGINT", ignore);
  }
}
