// Lighthouse through its Node API, so a signed-in page can be audited with a real session cookie.
// (Passing the cookie with --extra-headers overrides the browser's own Cookie header on every request, which
// breaks requests that also carry cookies the page set, such as the live-alerts EventSource: Lighthouse then
// reports console errors a person would never see.)
//
//   node bench/lighthouse_run.mjs URL OUT.json [COOKIE_NAME=VALUE]
// CHROME_PATH and CHROME_FLAGS come from the environment (bench/lighthouse.py sets them).
import fs from "node:fs";
import lighthouse from "lighthouse";
import puppeteer from "puppeteer-core";

const [url, out, cookie] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH,
  headless: true,
  args: (process.env.CHROME_FLAGS || "").split(" ").filter((f) => f && !f.startsWith("--headless")),
});
try {
  const page = await browser.newPage();
  if (cookie) {
    const eq = cookie.indexOf("=");
    await browser.setCookie({ name: cookie.slice(0, eq), value: cookie.slice(eq + 1), domain: new URL(url).hostname,
      path: "/", httpOnly: true, sameSite: "Lax" });
  }
  const result = await lighthouse(url, {
    output: "json", logLevel: "error", disableStorageReset: Boolean(cookie),
    onlyCategories: ["performance", "accessibility", "best-practices", "seo"],
  }, undefined, page);
  fs.writeFileSync(out, result.report);
} finally {
  await browser.close();
}
