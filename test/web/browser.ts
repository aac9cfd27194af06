/**
 * Browser test helpers: Debian's Chromium driven by playwright-core (no browser of its own
 * is downloaded), headless and without the sandbox, which refuses to run as root in CI.
 * The pages come from the build `npm test` makes first (`npm run build:web`).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.CUMULUS_CHROMIUM ?? '/usr/bin/chromium';
const BUILT = resolve(import.meta.dirname, '../../web/dist/index.html');

export async function launchBrowser(): Promise<Browser> {
  assert.ok(existsSync(BUILT), 'the web console is not built: run `npm run build:web` first');
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** PHONE is a phone-sized viewport, for the layout's narrow case. */
export const PHONE = { width: 390, height: 844 };

export async function newContext(
  browser: Browser,
  options: { phone?: boolean; dark?: boolean } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: options.phone ? PHONE : { width: 1280, height: 800 },
    colorScheme: options.dark ? 'dark' : 'light',
    ...(options.phone ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
  // Generous: CI shares two cores with the server, the CLI and the agent under test.
  context.setDefaultTimeout(30_000);
  return context;
}
