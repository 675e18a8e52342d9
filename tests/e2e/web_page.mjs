// Drives the web page in headless Chromium (Debian's /usr/bin/chromium through playwright-core).
// Usage: node web_page.mjs '<json config>'; config: {url, chromium, screenshot, screenshotLogin, text, clip,
// user: {username, email, password}, expired: {access, refresh}}. Prints one JSON line of observations for
// tests/e2e/test_web_page.py to assert on; exits non-zero on any failure.
import { chromium } from "playwright-core";

const config = JSON.parse(process.argv[2]);
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

const audioState = () => {
  const player = document.getElementById("player");
  return {
    readyState: player.readyState,
    duration: player.duration,
    error: player.error ? player.error.code : null,
    src: player.src.slice(0, 5),
  };
};

async function waitForAudio(page) {
  await page.waitForFunction(
    () => {
      const player = document.getElementById("player");
      return player.error !== null || (player.readyState >= 2 && player.duration > 0);
    },
    null,
    { timeout: 60000 },
  );
  return page.evaluate(audioState);
}

const browser = await chromium.launch({ executablePath: config.chromium, headless: true, args: FLAGS });
const out = { consoleErrors: [] };
try {
  // 1. A new visitor registers, synthesizes, hears it, sees history, deletes it.
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const page = await context.newPage();
  page.on("console", (msg) => { if (msg.type() === "error") out.consoleErrors.push(msg.text()); });
  page.on("pageerror", (err) => out.consoleErrors.push(String(err)));
  page.on("response", (r) => { if (r.status() >= 400) out.consoleErrors.push(`${r.status()} ${r.url()}`); });
  await page.goto(`${config.url}/app`);
  out.title = await page.title();
  await page.screenshot({ path: config.screenshotLogin });
  await page.getByLabel("Username", { exact: true }).fill(config.user.username);
  await page.getByLabel("Email", { exact: true }).fill(config.user.email);
  await page.locator("#register-password").fill(config.user.password);
  await page.getByRole("button", { name: "Create account and log in" }).click();
  await page.locator("#workspace").waitFor({ state: "visible", timeout: 30000 });
  out.signedInAs = await page.locator("#username").textContent();
  await page.locator("#voice option").first().waitFor({ state: "attached" });
  out.voices = await page.locator("#voice option").allTextContents();

  await page.getByLabel("Text", { exact: true }).fill(config.text);
  await page.getByRole("button", { name: "Synthesize" }).click();
  out.audio = await waitForAudio(page);
  out.status = await page.locator("#status").textContent();
  await page.locator("#history li[data-audio-id]").first().waitFor({ timeout: 30000 });
  out.historyTexts = await page.locator("#history li[data-audio-id] .text").allTextContents();
  out.playerAudioId = await page.locator("#player").getAttribute("data-audio-id");
  await page.screenshot({ path: config.screenshot, fullPage: true });

  // Keyboard only: Tab to the Delete button of the first history entry and press Enter.
  const del = page.locator("#history li[data-audio-id]").first().getByRole("button", { name: /^Delete/ });
  await del.focus();
  await page.keyboard.press("Enter");
  await page.locator("#history li[data-audio-id]").waitFor({ state: "detached", timeout: 30000 });
  out.historyAfterDelete = await page.locator("#history li[data-audio-id]").count();

  // Upload a clip to make a voice; this engine cannot speak with it, and the page says so.
  await page.getByLabel("Name", { exact: true }).fill("My clip");
  await page.getByLabel(/^Audio clip/).setInputFiles(config.clip);
  await page.getByRole("button", { name: "Upload" }).click();
  await page.locator("#voice-list li", { hasText: "My clip" }).waitFor({ timeout: 30000 });
  out.voiceStatus = await page.locator("#status").textContent();
  out.voicesTitle = await page.locator("#voices-title").textContent();
  out.clonedOption = await page.locator("#voice option", { hasText: "My clip" }).evaluate((o) => ({
    text: o.textContent,
    disabled: o.disabled,
  }));
  await page.getByRole("button", { name: "Delete voice My clip" }).click();
  await page.locator("#voice-list li", { hasText: "My clip" }).waitFor({ state: "detached", timeout: 30000 });
  await context.close();

  // 2. A returning visitor whose access token has expired: the page renews it and carries on.
  const returning = await browser.newContext();
  const page2 = await returning.newPage();
  page2.on("pageerror", (err) => out.consoleErrors.push(String(err)));
  await page2.goto(`${config.url}/app`);
  await page2.evaluate((t) => {
    sessionStorage.setItem("cbx.access", t.access);
    sessionStorage.setItem("cbx.refresh", t.refresh);
  }, config.expired);
  await page2.reload();
  await page2.locator("#workspace").waitFor({ state: "visible", timeout: 30000 });
  out.returningUser = await page2.locator("#username").textContent();
  out.accessRenewed = (await page2.evaluate(() => sessionStorage.getItem("cbx.access"))) !== config.expired.access;
  await page2.getByLabel("Text", { exact: true }).fill("Welcome back.");
  await page2.getByRole("button", { name: "Synthesize" }).click();
  out.returningAudio = await waitForAudio(page2);
  await returning.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
