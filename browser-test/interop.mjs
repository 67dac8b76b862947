// Browser <-> Java SDK interoperability of end-to-end encryption, in headless Chromium: alice's
// page and the SDK clients of BrowserInteropTest (client module) exchange messages that each side
// decrypts, in shared-key mode (with bob) and in Signal mode (with carol, the page starting; with
// dave, the SDK starting), compare the safety number, and see it change when carol reinstalls. The JUnit side drives the SDK when this program writes "control: …" lines on stdout and
// answers on stdin (the answer to "control: shared-key" and "control: safety-number" is a value).
//
//   COURIER_TOKENS='{"alice":"…"}' node interop.mjs --url http://127.0.0.1:7190/app/

import { WAIT_MS, encrypt, launchChromium, type } from './pages.mjs';
import readline from 'node:readline';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { url: { type: 'string' } } });
const tokens = JSON.parse(process.env.COURIER_TOKENS ?? '{}');
if (!args.url || !tokens.alice) {
    console.error('usage: COURIER_TOKENS=\'{"alice":"…"}\' node interop.mjs --url URL');
    process.exit(2);
}

const lines = readline.createInterface({ input: process.stdin });
const answers = [];
const waiting = [];
lines.on('line', (line) => (waiting.length > 0 ? waiting.shift()(line) : answers.push(line)));

/** Asks the JUnit side to do something with the SDK; resolves with its answer line. */
function control(command) {
    console.log(`control: ${command}`);
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer within 60 s to '${command}'`)), 60_000);
        const take = (line) => {
            clearTimeout(timer);
            if (line.startsWith('failed:')) {
                reject(new Error(`the SDK side: ${line}`));
            } else {
                resolve(line.trim());
            }
        };
        if (answers.length > 0) {
            take(answers.shift());
        } else {
            waiting.push(take);
        }
    });
}

function step(text) {
    console.log(`interop: ${text}`);
}

async function openConversation(page, peer) {
    await page.fill('#peer', peer);
    await page.click('#open-conversation');
    await page.waitForSelector(`#conversation-title:text-is("${peer}")`, { timeout: WAIT_MS });
}

async function incoming(page, text, mode) {
    await page.waitForFunction(([text, mode]) => [...document.querySelectorAll('#messages li.message.in')]
        .some((li) => li.querySelector('.text').textContent === text && li.dataset.e2e === mode), [text, mode], { timeout: WAIT_MS })
        .catch(async (e) => {
            const shown = await page.$$eval('#messages li.message', (lis) => lis.map((li) => `${li.className} ${li.dataset.e2e ?? ''} ${li.dataset.reason ?? ''}: ${li.textContent}`));
            throw new Error(`${e.message}; the conversation shows: ${JSON.stringify(shown)}`);
        });
}

async function sent(page, text) {
    await page.waitForFunction((text) => [...document.querySelectorAll('#messages li.message.out')]
        .some((li) => li.querySelector('.text').textContent === text && ['sent', 'delivered', 'read'].includes(li.dataset.state)), text, { timeout: WAIT_MS })
        .catch(async (e) => {
            const shown = await page.$$eval('#messages li.message.out', (lis) => lis.map((li) => `${li.dataset.state}: ${li.textContent}`));
            throw new Error(`${e.message}; the outgoing messages: ${JSON.stringify(shown)}`);
        });
}

const browser = await launchChromium();
let failed = false;
const log = [];
try {
    const page = await (await browser.newContext()).newPage();
    page.on('console', (m) => log.push(`[alice console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[alice page error] ${e.message}`));
    await page.goto(`${args.url}#token=${encodeURIComponent(tokens.alice)}`);
    await page.waitForSelector('#status[data-state="connected"]', { timeout: WAIT_MS });
    step(`Chromium ${browser.version()}: alice's page is connected`);

    // Shared key, with bob's SDK client.
    const key = await control('shared-key');
    await openConversation(page, 'bob');
    await encrypt(page, 'shared', key);
    await control('sdk-send-shared');
    await incoming(page, 'Shared key, from the Java SDK: bergamot-3141', 'shared');
    await type(page, 'Shared key, from the browser: cardamom-2718');
    await sent(page, 'Shared key, from the browser: cardamom-2718');
    await control('sdk-receive-shared');
    step('shared key: the page decrypted the SDK\'s message and the SDK decrypted the page\'s');

    // Signal, with carol's SDK client: the page starts the session (X3DH with carol's bundle).
    await openConversation(page, 'carol');
    await encrypt(page, 'signal');
    await type(page, 'Signal, from the browser first: juniper-1618');
    await sent(page, 'Signal, from the browser first: juniper-1618');
    await control('sdk-receive-signal-1');
    await control('sdk-send-signal');
    await incoming(page, 'Signal, the SDK\'s answer: saffron-1414', 'signal');
    await type(page, 'Signal, the browser again: sumac-1732');
    await sent(page, 'Signal, the browser again: sumac-1732');
    await control('sdk-receive-signal-2');
    step('Signal: the page and the SDK exchanged messages both ways, each decrypting the other\'s, across ratchet steps');
    const theirs = await control('safety-number');
    await page.waitForFunction((n) => document.getElementById('safety-number').dataset.number === n, theirs, { timeout: WAIT_MS })
        .catch(async () => {
            throw new Error(`the page shows safety number '${await page.getAttribute('#safety-number', 'data-number')}', the SDK '${theirs}'`);
        });
    step(`the page and the SDK show the same safety number: ${theirs}`);

    // The page reloads: its sessions come back from IndexedDB.
    await page.reload();
    await page.waitForSelector('#status[data-state="connected"]', { timeout: WAIT_MS });
    await page.click('#conversations li[data-peer="carol"]');
    await control('sdk-send-after-reload');
    await incoming(page, 'Signal, the SDK after the page reloaded: nutmeg-5772', 'signal');
    await type(page, 'Signal, the reloaded page answers: clove-6931');
    await sent(page, 'Signal, the reloaded page answers: clove-6931');
    await control('sdk-receive-after-reload');
    step('the page reloaded: its Signal session with carol came back from IndexedDB and both ways still decrypt');

    // An encrypted image from carol: the page downloads the blob, checks it, decrypts it and shows it.
    await control('sdk-send-image');
    const image = '#messages li.message.in[data-e2e="signal"] .media[data-state="ready"] img';
    await page.waitForFunction((selector) => {
        const img = document.querySelector(selector);
        return img && img.complete && img.naturalWidth === 40;
    }, image, { timeout: WAIT_MS }).catch(async (e) => {
        const shown = await page.$$eval('#messages li.message', (els) => els.map((el) => `${el.dataset.e2e}: ${el.textContent}`));
        throw new Error(`${e.message}; the conversation shows: ${JSON.stringify(shown)}`);
    });
    step('carol\'s encrypted image: the page downloaded the blob, checked its digest and MAC, decrypted it and shows it (40 px wide)');

    // Erin: one device, then a second; the page learns of it from STALE_DEVICES.
    await openConversation(page, 'erin');
    await encrypt(page, 'signal');
    await type(page, 'Signal, to erin\'s one device: mace-1001');
    await sent(page, 'Signal, to erin\'s one device: mace-1001');
    await control('erin-receives-first');
    await control('erin-second-device');
    await type(page, 'Signal, to both of erin\'s devices: caraway-2002');
    await sent(page, 'Signal, to both of erin\'s devices: caraway-2002');
    await control('erin-receives-on-both');
    step('erin added a device: the server refused the page\'s send with STALE_DEVICES, and the page encrypted it for both devices and sent it again; the new device did not get the older message');

    // Another client takes the page's one-time pre-keys until the server says PreKeysLow.
    await control('drain-pre-keys');
    step('after 85 of its one-time pre-keys were taken the server said PreKeysLow, and the page published more (ids above 100)');

    // Dave's SDK client starts the session: the page answers X3DH with its one-time pre-key.
    await control('sdk-first-signal');
    await page.waitForSelector('#conversations li[data-peer="dave"]', { timeout: WAIT_MS });
    await page.click('#conversations li[data-peer="dave"]');
    await incoming(page, 'Signal, the SDK first: tarragon-2236', 'signal');
    await encrypt(page, 'signal');
    await type(page, 'Signal, the browser answers dave: fennel-1123');
    await sent(page, 'Signal, the browser answers dave: fennel-1123');
    await control('sdk-receive-dave');
    step('Signal: the SDK started a session with the page (X3DH), and each decrypted the other\'s message');

    // Carol reinstalls: a new identity key for carol's device.
    await page.click('#conversations li[data-peer="carol"]');
    const renewed = await control('carol-reinstalls');
    await incoming(page, 'Signal, carol after reinstalling: anise-4669', 'signal');
    await page.waitForFunction(() => [...document.querySelectorAll('#messages li.message.notice')]
        .some((li) => li.textContent === 'Your safety number with carol changed'), null, { timeout: WAIT_MS })
        .catch(async (e) => {
            const shown = await page.$$eval('#messages li', (lis) => lis.map((li) => `${li.className}: ${li.textContent}`));
            throw new Error(`${e.message}; no notice; the conversation shows: ${JSON.stringify(shown)}`);
        });
    await page.waitForFunction((n) => document.getElementById('safety-number').dataset.number === n, renewed, { timeout: WAIT_MS })
        .catch(async () => {
            throw new Error(`after carol reinstalled the page shows '${await page.getAttribute('#safety-number', 'data-number')}', carol '${renewed}'`);
        });
    if (renewed === theirs) {
        throw new Error('carol\'s safety number did not change when she reinstalled');
    }
    step(`carol reinstalled: the page decrypted her message, says her safety number changed, and shows the new one: ${renewed}`);

    // Dave reinstalls and says nothing: the page writes first, with its session to his old keys.
    // The server refuses the copy (STALE_DEVICES, changedDevices), the page fetches his new bundle,
    // says the safety number changed, and encrypts to the new keys: the new dave reads it.
    await control('dave-reinstalls-silently');
    await page.click('#conversations li[data-peer="dave"]');
    await type(page, 'Signal, to dave after his reinstall: sorrel-3141');
    await sent(page, 'Signal, to dave after his reinstall: sorrel-3141');
    await page.waitForFunction(() => [...document.querySelectorAll('#messages li.message.notice')]
        .some((li) => li.textContent === 'Your safety number with dave changed'), null, { timeout: WAIT_MS });
    await control('dave-receives-after-reinstall');
    step('dave reinstalled without writing: the server named his device as changed, the page said his safety number changed and encrypted to his new keys, and he decrypted it');
    console.log('interop: all passed: shared key both ways, Signal both ways, the same safety number, an encrypted image, a device added, safety number changed, a silent reinstall');
} catch (e) {
    failed = true;
    console.log(`interop: FAILED: ${e.stack ?? e}`);
    log.slice(-30).forEach((l) => console.log(l));
} finally {
    await browser.close();
    lines.close();
}
process.exit(failed ? 1 : 0);
