/**
 * The live view's page in headless Chromium. Skipped where `/usr/bin/chromium` is absent; CI
 * installs it (`apt-get install -y chromium`).
 *
 * @module
 */

import { equal, ok } from "node:assert/strict";
import { chromium } from "playwright-core";
import { ActorSystem, child, supervisor } from "../mod.ts";
import { Observed } from "./fixtures/observed.ts";
import { nextEvent, test } from "./_helpers.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const missing = (() => {
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    return true;
  }
})();

const FAST = { initialMs: 1, maxMs: 1, factor: 1, jitter: 0 };

test("the live view draws the tree in Chromium and marks a crash within a second", async () => {
  await using system = await ActorSystem.start({
    name: "browser",
    root: supervisor({
      children: [
        child("ingest", Observed, { placement: "local" }),
        child(
          "pipeline",
          supervisor({
            strategy: "one_for_one",
            backoff: FAST,
            children: [
              child("parse", Observed, { placement: "local" }),
              child("store", Observed, { placement: "local" }),
            ],
          }),
        ),
      ],
    }),
  });
  for (let i = 0; i < 3; i++) system.lookup(Observed, "/ingest").tell("bump", {});
  const observer = await system.observe();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 520 } });
    const failures: string[] = [];
    page.on("pageerror", (error) => failures.push(error.message));
    page.on("requestfailed", (request) => {
      if (!request.url().startsWith(observer.url)) failures.push(`fetched ${request.url()}`);
    });
    await page.goto(observer.url);
    await page.waitForSelector('body[data-live="open"]', { timeout: 5_000 });
    for (const path of ["/ingest", "/pipeline/parse", "/pipeline/store"]) {
      const actor = page.locator(`.actor[data-path="${path}"]`);
      await actor.waitFor({ timeout: 5_000 });
      equal(await actor.getAttribute("data-status"), "running");
      ok((await actor.textContent())?.includes("local"), `${path} shows its placement`);
    }
    equal(await page.locator('.sup[data-path="/pipeline"]').count(), 1);
    // The page re-reads /stats: the three messages handled show up.
    await page.waitForFunction(
      `document.querySelector('.actor[data-path="/ingest"] dl')?.textContent.includes("processed3")`,
      undefined,
      { timeout: 3_000 },
    );

    const restarted = nextEvent(system.events, "restarted", (e) => e.path === "/pipeline/store");
    const crashedAt = performance.now();
    system.lookup(Observed, "/pipeline/store").tell("crash", { message: "disk on fire" });
    await page.waitForSelector(
      '.actor[data-path="/pipeline/store"]:is([data-status="crashed"], .crashed)',
      { timeout: 1_000 },
    );
    const elapsed = performance.now() - crashedAt;
    ok(elapsed < 1_000, `marked after ${Math.round(elapsed)} ms`);
    await restarted;
    const store = page.locator('.actor[data-path="/pipeline/store"]');
    ok((await store.textContent())?.includes("disk on fire"), "the error is shown");
    // The others are untouched.
    equal(
      await page.locator('.actor[data-path="/pipeline/parse"]').getAttribute("data-status"),
      "running",
    );
    await page.waitForSelector('.actor[data-path="/pipeline/store"].restarted', { timeout: 2_000 });
    await Deno.mkdir(new URL("../docs/", import.meta.url), { recursive: true });
    // The README's picture: refreshed on request only, so that a test run leaves the tree clean.
    if (Deno.env.get("TROUPE_UPDATE_SCREENSHOT") === "1") {
      await page.screenshot({ path: new URL("../docs/live-view.png", import.meta.url).pathname });
    } else {
      ok((await page.screenshot()).byteLength > 0);
    }
    equal(failures.length, 0, failures.join("\n"));
  } finally {
    await browser.close();
  }
}, { ignore: missing });
