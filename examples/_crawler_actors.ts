/**
 * The actors of example 10 and the web they crawl: an in-memory site, so that the example runs
 * offline and prints the same figures on every run. Worker placements import this module by its
 * URL.
 *
 * ```
 *  main ──spawn(args: { index })──▶ /crawler ──ctx.spawn──▶ /crawler/fetcher-N (temporary)
 *   │                                 ▲  │ watch, onDown: a fetcher crashed → its page is
 *   │                                 │  │ retried by a timer, a new fetcher takes its place
 *   │                 "page" (replyTo)│  └──"fetch" { url, replyTo: ctx.self }──▶ fetcher
 *   │                                 │                                           │ ctx.lookup
 *   └──ask "report"──▶ /index ◀──────────────────────── "add" ─────────────────────┘
 * ```
 *
 * @module
 */

import { z } from "zod";
import { type ActorContext, type ActorRef, ask, defineActor, refOf } from "../mod.ts";

/** One page of the fake web. */
export interface FakePage {
  /** Its title. */
  title: string;
  /** The URLs it links to, some of them broken. */
  links: string[];
  /** How long fetching it takes, in milliseconds. */
  ms: number;
}

/** The page whose first fetch crashes the fetcher that takes it. */
export const POISON = "/p/13";

/**
 * An in-memory site of `size` pages, `/p/0` to `/p/{size - 1}`: each links to three others by a
 * fixed rule, and every seventeenth to a page that does not exist (a 404).
 */
export function fakeWeb(size: number): Map<string, FakePage> {
  const web = new Map<string, FakePage>();
  for (let i = 0; i < size; i++) {
    const links = [(i * 2 + 1) % size, (i * 3 + 2) % size, (i + 7) % size].map((n) => `/p/${n}`);
    if (i % 17 === 5) links.push(`/gone/${i}`);
    web.set(`/p/${i}`, { title: i === 0 ? "Home" : `Page ${i}`, links, ms: 1 + (i * 7) % 5 });
  }
  return web;
}

/** The URLs reachable from `from` (itself included): what a crawl must find, no more, no less. */
export function reachable(web: Map<string, FakePage>, from: string): Set<string> {
  const seen = new Set([from]);
  for (const url of seen) {
    for (const link of web.get(url)?.links ?? []) seen.add(link);
  }
  return seen;
}

const pageEntry = z.object({ url: z.string(), title: z.string(), status: z.number().int() });
const crash = z.object({ url: z.string(), attempt: z.number().int(), error: z.string() });

/** What the index knows at the end: every page once, and how the crawl went. */
const report = z.object({
  pages: z.array(pageEntry),
  duplicates: z.number().int(),
  crawl: z.object({
    from: z.string(),
    fetchers: z.array(z.string()),
    crashes: z.array(crash),
    retried: z.array(z.string()),
  }).optional(),
});

/** The index's report. */
export type Report = z.infer<typeof report>;

/** Keeps every page fetched (once) and the crawler's account of the crawl. */
export const Index = defineActor({
  name: "index",
  url: import.meta.url,
  protocol: {
    add: pageEntry,
    crawled: report.shape.crawl.unwrap(),
    report: ask(z.object({}), report),
  },
  init: () => ({
    pages: new Map<string, z.infer<typeof pageEntry>>(),
    duplicates: 0,
    crawl: undefined as Report["crawl"],
  }),
  handlers: {
    add(state, msg) {
      if (state.pages.has(msg.url)) state.duplicates++;
      state.pages.set(msg.url, msg);
    },
    crawled(state, msg) {
      state.crawl = msg;
    },
    report: (state) => ({
      pages: [...state.pages.values()],
      duplicates: state.duplicates,
      ...(state.crawl === undefined ? {} : { crawl: state.crawl }),
    }),
  },
});

/**
 * The crawler's protocol, declared before the fetcher so that the fetcher's messages can carry a
 * ref to the crawler (`refOf<CrawlerProtocol>("crawler")`): the two refer to each other.
 */
const crawlerProtocol = {
  /** Starts the crawl at `from` with `fetchers` fetchers. */
  crawl: z.object({ from: z.string(), fetchers: z.number().int().min(1), pages: z.number() }),
  /** A fetcher's answer: the page it fetched and its links. */
  page: z.object({ url: z.string(), links: z.array(z.string()), by: z.string() }),
  /** A timer's message: fetch a page again. */
  retry: z.object({ url: z.string(), attempt: z.number().int() }),
};

/** The part of the crawler's protocol the fetcher's messages name. */
export type CrawlerProtocol = typeof crawlerProtocol;

/**
 * Fetches pages of the fake web. It finds the index by its path (`ctx.lookup`) and answers the
 * crawler through the ref each `fetch` carries. Its first fetch of {@linkcode POISON} crashes it.
 */
export const Fetcher = defineActor({
  name: "fetcher",
  url: import.meta.url,
  protocol: {
    fetch: z.object({
      url: z.string(),
      attempt: z.number().int(),
      replyTo: refOf<CrawlerProtocol>("crawler"),
    }),
  },
  init: async (args: { pages: number }, ctx) => ({
    web: fakeWeb(args.pages),
    index: await ctx.lookup(Index, "/index"),
  }),
  handlers: {
    async fetch(state, msg, ctx) {
      const page = state.web.get(msg.url);
      await new Promise((resolve) => setTimeout(resolve, page?.ms ?? 1)); // the network, faked
      if (msg.url === POISON && msg.attempt === 1) {
        throw new Error(`${ctx.path} choked on ${msg.url}`);
      }
      state.index.tell("add", {
        url: msg.url,
        title: page?.title ?? "Not found",
        status: page === undefined ? 404 : 200,
      });
      msg.replyTo.tell("page", { url: msg.url, links: page?.links ?? [], by: ctx.path });
    },
  },
});

const fullCrawlerProtocol = {
  ...crawlerProtocol,
  /** The fetchers the crawler has spawned so far: refs in a reply. */
  team: ask(z.object({}), refOf(Fetcher).array()),
};

type CrawlerContext = ActorContext<typeof fullCrawlerProtocol>;

interface Job {
  url: string;
  attempt: number;
}

interface CrawlerState {
  index: ActorRef<typeof Index.protocol>;
  from: string;
  pages: number;
  seen: Set<string>;
  queue: Job[];
  idle: ActorRef<typeof Fetcher.protocol>[];
  busy: Map<string, { job: Job; fetcher: ActorRef<typeof Fetcher.protocol> }>;
  team: ActorRef<typeof Fetcher.protocol>[];
  waiting: number;
  crashes: z.infer<typeof crash>[];
  retried: string[];
}

/** How long a page whose fetcher crashed waits before it is fetched again. */
export const RETRY_MS = 50;

/**
 * Crawls the fake web: spawns its fetchers as its own children (`ctx.spawn`, each in a Web
 * Worker), watches them, hands each idle fetcher the next page, and queues the links it has not
 * seen. When a fetcher crashes (`onDown`), its page is fetched again after {@linkcode RETRY_MS} by
 * a timer, and a new fetcher takes its place. When nothing is left it reports to the index it was
 * given in its args, and stops (its fetchers stop first).
 */
export const Crawler = defineActor({
  name: "crawler",
  url: import.meta.url,
  protocol: fullCrawlerProtocol,
  init: (args: { index: ActorRef<typeof Index.protocol> }): CrawlerState => ({
    index: args.index,
    from: "",
    pages: 0,
    seen: new Set(),
    queue: [],
    idle: [],
    busy: new Map(),
    team: [],
    waiting: 0,
    crashes: [],
    retried: [],
  }),
  handlers: {
    async crawl(state, msg, ctx) {
      Object.assign(state, { from: msg.from, pages: msg.pages });
      state.seen.add(msg.from);
      state.queue.push({ url: msg.from, attempt: 1 });
      for (let i = 0; i < msg.fetchers; i++) await hire(state, ctx);
      dispatch(state, ctx);
    },
    page(state, msg, ctx) {
      const held = state.busy.get(msg.by);
      if (held === undefined) return;
      state.busy.delete(msg.by);
      state.idle.push(held.fetcher);
      for (const link of msg.links) {
        if (state.seen.has(link)) continue;
        state.seen.add(link);
        state.queue.push({ url: link, attempt: 1 });
      }
      dispatch(state, ctx);
    },
    retry(state, msg, ctx) {
      state.waiting--;
      state.retried.push(msg.url);
      state.queue.unshift(msg);
      dispatch(state, ctx);
    },
    team: (state) => state.team,
  },
  async onDown(state, down, ctx) {
    const held = state.busy.get(down.path);
    if (held === undefined) return;
    state.busy.delete(down.path);
    const { url, attempt } = held.job;
    state.crashes.push({ url, attempt, error: down.error?.message ?? down.reason });
    state.waiting++;
    ctx.timers.once(`retry ${url}`, "retry", { url, attempt: attempt + 1 }, RETRY_MS);
    await hire(state, ctx);
    dispatch(state, ctx);
  },
});

/** Spawns one more fetcher as a child of the crawler, and watches it. */
async function hire(state: CrawlerState, ctx: CrawlerContext): Promise<void> {
  const fetcher = await ctx.spawn(Fetcher, {
    name: `fetcher-${state.team.length + 1}`,
    restart: "temporary", // a crash ends it: the crawler hears of it in onDown
    args: { pages: state.pages },
  });
  ctx.watch(fetcher);
  state.team.push(fetcher);
  state.idle.push(fetcher);
}

/** Hands queued pages to idle fetchers; reports and stops once nothing is left to do. */
function dispatch(state: CrawlerState, ctx: CrawlerContext): void {
  while (state.idle.length > 0 && state.queue.length > 0) {
    const fetcher = state.idle.shift()!;
    const job = state.queue.shift()!;
    state.busy.set(fetcher.path, { job, fetcher });
    fetcher.tell("fetch", { ...job, replyTo: ctx.self });
  }
  if (state.queue.length === 0 && state.busy.size === 0 && state.waiting === 0) {
    state.index.tell("crawled", {
      from: state.from,
      fetchers: state.team.map((fetcher) => fetcher.path),
      crashes: state.crashes,
      retried: state.retried,
    });
    void ctx.self.stop(); // its fetchers stop first
  }
}
