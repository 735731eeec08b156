/**
 * 10 · Actors that find each other by refs: a crawler of an in-memory web.
 *
 * Every actor runs in its own Web Worker, and none is told about the others by hand-kept shared
 * state: refs travel in spawn args, in messages and in replies, and arrive working.
 *
 * ```
 *  /index                   keeps every page once; main spawns it
 *  /crawler                 gets the index's ref in its args; spawns, watches and feeds
 *  └── fetcher-1..3         ctx.spawn children, "temporary"; find the index by ctx.lookup and
 *                           answer the crawler through the ref each "fetch" message carries
 * ```
 *
 * One page crashes the fetcher that first takes it. The crawler hears of it in `onDown`, spawns a
 * new fetcher, and fetches the page again after a `ctx.timers` delay. When no page is left, the
 * crawler reports to the index and stops itself; its fetchers stop first, and `crawler.stopped()`
 * tells the main thread. The web is a fixed map (no network), so the figures are the same on
 * every run: 200 pages (60 with `--quick`).
 *
 *   deno task example:refs-crawler
 *   deno run -A examples/10_refs_crawler.ts --quick
 *
 * @module
 */

import { ActorSystem } from "../mod.ts";
import { fmtMs, line, scaled, stopwatch, title } from "./_common.ts";
import { Crawler, fakeWeb, Index, POISON, reachable, RETRY_MS } from "./_crawler_actors.ts";

const PAGES = scaled(200, 60);
const FETCHERS = 3;
const FROM = "/p/0";

title(`10 actors that find each other by refs: a crawler of an in-memory web of ${PAGES} pages`);

await using system = await ActorSystem.start({ name: "crawler" });
const clock = stopwatch();
const index = await system.spawn(Index, { name: "index" });
const crawler = await system.spawn(Crawler, { name: "crawler", args: { index } }); // a ref in args
crawler.tell("crawl", { from: FROM, fetchers: FETCHERS, pages: PAGES });

// A reply that carries refs: the fetchers the crawler spawned, each reachable from here.
const team = await crawler.ask("team", {});
line();
line(`The crawler spawned ${team.length} fetchers, each in its own Web Worker:`);
for (const fetcher of team) line(`  ${fetcher.path.padEnd(22)} ${fetcher.status}`);

const exit = await crawler.stopped(); // the crawler stops itself once the web is crawled
const ms = clock();
const report = await index.ask("report", {});
const crawl = report.crawl!;

line();
line(`The crawler ${exit.reason} by itself after ${fmtMs(ms)}, its fetchers first:`);
line(`  it spawned ${crawl.fetchers.map((path) => path.slice("/crawler/".length)).join(", ")}`);
line(`  the refs its reply carried now read ${team.map((fetcher) => fetcher.status).join(", ")}`);
for (const { url, attempt } of crawl.crashes) {
  line(
    `  ${url} crashed its fetcher on attempt ${attempt}: onDown hired another, ` +
      `a timer fetched it again after ${RETRY_MS} ms`,
  );
}

const expected = reachable(fakeWeb(PAGES), FROM);
const indexed = new Set(report.pages.map((page) => page.url));
const missing = [...expected].filter((url) => !indexed.has(url));
const strays = [...indexed].filter((url) => !expected.has(url));
const byNumber = (url: string) => Number(url.split("/").pop());
const sample = report.pages.filter((page) => page.status === 200)
  .sort((a, b) => byNumber(a.url) - byNumber(b.url)).slice(0, 4);
line();
line("The index:");
for (const page of sample) line(`  ${page.url.padEnd(8)} ${page.status} ${page.title}`);
line(`  …`);
const broken = report.pages.filter((page) => page.status !== 200);
for (const page of broken.sort((a, b) => byNumber(a.url) - byNumber(b.url))) {
  line(`  ${page.url.padEnd(8)} ${page.status} ${page.title}`);
}
line();
line(
  `indexed ${indexed.size} of ${expected.size} pages reachable from ${crawl.from}, ` +
    `${broken.length} of them broken links`,
);
line(`poison page ${POISON}: ${crawl.crashes.length} crash, retried ${crawl.retried.join(", ")}`);
line(`missing ${missing.length}, strays ${strays.length}, indexed twice ${report.duplicates}`);
if (missing.length + strays.length + report.duplicates > 0) Deno.exit(1);
