// Runs the checks of e2e-checks.js in headless Chromium, in a page of the browser client as the
// server serves it (so the e2e.js checked is the one the page runs), and prints one line per check:
//   node e2e-kat.mjs --url http://127.0.0.1:7190/app/ --rfc rfc-vectors.json [--courier vectors.json]
// It exits 0 only when every check passed; the last line is the summary BrowserClientTest expects.

import { launchChromium } from './pages.mjs';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({ options: { url: { type: 'string' }, rfc: { type: 'string' }, courier: { type: 'string' } } });
if (!args.url || !args.rfc) {
    console.error('usage: node e2e-kat.mjs --url URL --rfc rfc-vectors.json [--courier vectors.json]');
    process.exit(2);
}
const rfc = JSON.parse(readFileSync(args.rfc, 'utf8'));
const courier = args.courier && existsSync(args.courier) ? JSON.parse(readFileSync(args.courier, 'utf8')) : null;
const checks = readFileSync(path.join(here, 'e2e-checks.js'), 'utf8');

const browser = await launchChromium();
let failed = 0;
try {
    // The page's Content-Security-Policy allows only its own scripts; the checks are added inline.
    const page = await (await browser.newContext({ bypassCSP: true })).newPage();
    page.on('pageerror', (e) => console.log(`e2e: page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') console.log(`e2e: console: ${m.text()}`); });
    await page.goto(args.url);
    console.log(`e2e: Chromium ${browser.version()}, ${new URL('e2e.js', args.url)}`);
    // A module script added to the page imports ./e2e.js relative to the page, as app.js does.
    await page.addScriptTag({ type: 'module', content: `${checks}\nwindow.__runChecks = runChecks;` });
    await page.waitForFunction(() => typeof window.__runChecks === 'function', null, { timeout: 30_000 });
    const results = await page.evaluate(([r, c]) => window.__runChecks(r, c), [rfc, courier]);
    for (const r of results) {
        console.log(`e2e: ${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail ? ` — ${r.detail}` : ''}`);
        if (!r.ok) {
            failed++;
        }
    }
    console.log(courier ? 'e2e: Courier vectors checked' : `e2e: no Courier vectors at ${args.courier ?? '(none given)'}`);
    if (failed === 0) {
        console.log(`e2e: all ${results.length} checks passed`);
    } else {
        console.log(`e2e: FAILED: ${failed} of ${results.length} checks`);
    }
} catch (e) {
    failed++;
    console.log(`e2e: FAILED: ${e.stack ?? e}`);
} finally {
    await browser.close();
}
process.exit(failed === 0 ? 0 : 1);
