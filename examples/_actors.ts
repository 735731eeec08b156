/** Actors the examples use. Worker placements import this module by its URL. */
import { z } from "zod";
import { ask, defineActor } from "../mod.ts";

/** Thrown by `Account.withdraw`: a custom error whose fields survive the trip from the worker. */
export class InsufficientFunds extends Error {
  readonly balance: number;
  readonly requested: number;
  constructor(balance: number, requested: number) {
    super(`cannot withdraw ${requested}: balance is ${balance}`);
    this.name = "InsufficientFunds";
    this.balance = balance;
    this.requested = requested;
  }
}

/** A bank account: tells change it, asks read it, a bad withdrawal throws. */
export const Account = defineActor({
  name: "account",
  url: import.meta.url,
  protocol: {
    deposit: z.object({ amount: z.number().int().positive() }),
    withdraw: ask(z.object({ amount: z.number().int().positive() }), z.number()),
    balance: ask(z.object({}), z.number()),
    whereAmI: ask(z.object({}), z.string()),
  },
  init: (args: { owner: string; opening: number }) => ({ ...args, balance: args.opening }),
  handlers: {
    deposit(state, msg) {
      state.balance += msg.amount;
    },
    withdraw(state, msg) {
      if (msg.amount > state.balance) throw new InsufficientFunds(state.balance, msg.amount);
      state.balance -= msg.amount;
      return state.balance;
    },
    balance: (state) => state.balance,
    whereAmI: () =>
      (typeof Deno !== "undefined" && "WorkerGlobalScope" in globalThis)
        ? `a worker (${(globalThis as { name?: string }).name ?? "unnamed"})`
        : "the main thread",
  },
});
