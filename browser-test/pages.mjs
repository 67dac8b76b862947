// What the Chromium drivers (browser-client.mjs, interop.mjs, e2e-kat.mjs) share: how Debian's
// Chromium is launched headless (as root, hence no sandbox), and the page actions more than one
// of them takes.

import { chromium } from 'playwright-core';

/** How long a driver waits for anything the page should show. */
export const WAIT_MS = 30_000;

/** Debian's Chromium, headless, with nothing running in the background to disturb the tests. */
export function launchChromium() {
    return chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        timeout: WAIT_MS,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
            '--disable-sync', '--no-first-run'],
    });
}

/** Types a message into the open conversation and sends it. */
export async function type(page, text) {
    await page.fill('#compose', text);
    await page.press('#compose', 'Enter');
}

/** Sets the open conversation's encryption (off, shared, signal; a shared key's hex) and waits until it holds. */
export async function encrypt(page, mode, key) {
    await page.selectOption('#e2e-mode', mode);
    if (key) {
        await page.fill('#e2e-key', key);
    }
    await page.click('#e2e-apply');
    await page.waitForSelector(`#e2e-state[data-mode="${mode}"]`, { timeout: WAIT_MS });
}
