import { equal, ok as assert } from "node:assert/strict";

const demo = new URL("../examples/demo.ts", import.meta.url).pathname;

function run(...args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", demo, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("the demo finishes every job despite crashing workers, loses none and exits 0", async () => {
  const { code, stdout } = await run("--jobs", "200", "--job-ms", "1", "--crash-rate", "0.05")
    .output();
  const text = new TextDecoder().decode(stdout);
  equal(code, 0, text);
  assert(text.includes("jobs done       200 of 200"), text);
  assert(text.includes("jobs lost       0"), text);
  assert(/worker crashes {2}\d+, restarts \d+/.test(text), text);
  assert(!text.includes("\x1b"), "no escape codes when piped");
});

Deno.test("Ctrl-C stops the demo cleanly with exit code 0", async () => {
  const child = run("--jobs", "100000", "--job-ms", "1");
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("progress")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  child.kill("SIGINT");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const status = await child.status;
  await child.stderr.cancel();
  equal(status.code, 0, text);
  assert(text.includes("Interrupted: the tree was shut down cleanly."), text);
});
