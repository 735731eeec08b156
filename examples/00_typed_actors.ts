/**
 * A tour of typed actors in Web Workers: validation at the trust boundary, and errors that arrive
 * intact across threads.
 *
 *   deno run -A examples/00_typed_actors.ts
 */
import { ActorSystem, InvalidMessageError } from "../mod.ts";
import { Account } from "./_actors.ts";

const line = (text = "") => console.log(text);

await using system = await ActorSystem.start({ name: "demo" });
system.events.on((event) => {
  if (event.type === "crashed") line(`  event: ${event.path} crashed (${event.error.message})`);
  if (event.type === "restarted") line(`  event: ${event.path} restarted`);
  if (event.type === "dead_letter") {
    line(`  event: dead letter for ${event.path}: ${event.letter.reason}`);
  }
});

line("Three accounts, each an actor in its own Web Worker:");
const owners = ["ada", "grace", "linus"];
const accounts = await Promise.all(
  owners.map((owner, i) =>
    system.spawn(Account, { name: owner, args: { owner, opening: 100 * (i + 1) } })
  ),
);
for (const account of accounts) {
  line(`  ${account.path} runs in ${await account.ask("whereAmI", {})}`);
}

line();
line("10,000 deposits of 1 to each, told without waiting, then one ask each:");
const start = performance.now();
for (let i = 0; i < 10_000; i++) {
  for (const account of accounts) await account.send("deposit", { amount: 1 });
}
const balances = await Promise.all(accounts.map((account) => account.ask("balance", {})));
const ms = performance.now() - start;
line(
  `  balances ${balances.join(", ")} after ${ms.toFixed(0)} ms (${
    (30_000 / ms * 1000).toFixed(0)
  } msg/s)`,
);

line();
line("A deposit of -5 breaks the schema: it never reaches the handler.");
accounts[0].tell("deposit", { amount: -5 });
try {
  await accounts[0].ask("withdraw", { amount: 1.5 });
} catch (error) {
  if (error instanceof InvalidMessageError) line(`  ask rejected: ${error.message}`);
}

line();
line("Withdrawing too much throws in the worker; the error arrives whole:");
try {
  await accounts[1].ask("withdraw", { amount: 1_000_000 });
} catch (error) {
  const e = error as Error & { balance: number; requested: number };
  line(`  ${e.name}: ${e.message} (balance ${e.balance}, requested ${e.requested})`);
  line(`  thrown at ${e.stack?.split("\n")[1]?.trim()}`);
}
line(`  /grace was restarted with fresh state: balance ${await accounts[1].ask("balance", {})}`);

line();
line(`Dead letters: ${system.stats().deadLetters}. Shutting down.`);
