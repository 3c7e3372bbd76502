/**
 * The dashboard in a real browser: Debian's Chromium, driven by playwright-core, against a real agent
 * with real workers. The page asks for the token, then shows the function, and under a load the test
 * generates (calls that hold a container each) it shows the function scaling up: more containers on the
 * page and a decision with its reason; a failed call appears in the failures table. A screenshot of the
 * page under load is kept in agent/test/artifacts/dashboard.png.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { startAgent, TOKEN, until, type Harness } from "./helpers";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
const ARTIFACTS = path.join(__dirname, "artifacts");

let h: Harness;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (CHROMIUM === undefined) throw new Error("Chromium is missing: run scripts/system-packages (it installs Debian's chromium)");
  h = await startAgent({
    slow: { handler: "handlers:slow", autoscaler: { maxContainers: 3, scaledownWindow: 600 } },
    boom: { handler: "handlers:boom" },
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
});

test("without a token the page asks for one, and a wrong one is refused", async () => {
  await page.goto(`${h.url}/dashboard`);
  await page.waitForSelector("#login:not([hidden])");
  await page.fill("#token", "not-the-token");
  await page.click("#login button");
  await page.waitForFunction(() => document.getElementById("error")?.textContent === "the token was refused");
});

test("with the token it shows the functions, scaling up under load, and the failed calls", async () => {
  await page.goto(`${h.url}/dashboard#token=${TOKEN}`);
  await page.waitForSelector('section[data-function="t/slow"]');
  // The token left the address bar once read.
  expect(page.url()).toBe(`${h.url}/dashboard`);
  const fail = h.http.call("t", "boom", [7]);
  // Six 4-second calls: one container takes one at a time (maxInputs 1), so the function scales to 3.
  const load = Array.from({ length: 6 }, () => h.http.call("t", "slow", [4]));
  await until("three containers", () => h.agent.registry.lookup("t", "slow").pool.containers.length === 3);
  await page.waitForFunction(() => document.querySelector('section[data-function="t/slow"] [data-stat="containers"]')?.textContent === "containers 3", undefined, { timeout: 15_000 });
  const decisions = await page.textContent('section[data-function="t/slow"] .decisions');
  expect(decisions).toContain("scale up");
  expect(await page.locator('section[data-function="t/slow"] canvas').count()).toBeGreaterThanOrEqual(3);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png"), fullPage: true });
  expect(fs.statSync(path.join(ARTIFACTS, "dashboard.png")).size).toBeGreaterThan(10_000);
  expect((await fail).body.status).toBe("failed");
  await page.waitForFunction(() => document.getElementById("failures")?.textContent?.includes("ValueError") === true, undefined, { timeout: 15_000 });
  await Promise.all(load);
}, 90_000);

test("values from the agent are shown as text, never run as markup", async () => {
  const snapshot = await page.evaluate(() => document.querySelectorAll("#failures script, #failures img").length);
  expect(snapshot).toBe(0);
  await h.http.call("t", "boom", ["<img src=x onerror=window.pwned=1>"]);
  await page.waitForFunction(() => document.getElementById("failures")?.textContent?.includes("<img src=x") === true, undefined, { timeout: 15_000 });
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
});
