// Drives the browser client in headless Chromium against a real server, as people would use it:
//   1. alice and bob, each in a browser of their own, chat over WebSocket until the ticks turn blue;
//   2. carol, whose browser cannot open a WebSocket, falls back to long polling and chats with alice;
//   3. the server stops; alice types a message, reloads the page (it opens from the service
//      worker's copy, her message still queued in IndexedDB); the server starts again on the same
//      data and ports; the message reaches bob once, and alice's tick turns blue;
//   4. alice sends bob an image and a PDF through the media service (the JUnit side uploads them
//      and sends the references); bob's page shows the image inline and a link to save the PDF.
//   5. alice's page says bob is "online" under his name, and "last seen today at …" once his page
//      is closed.
//   6. alice and bob turn on shared-key encryption for their conversation with the same key and
//      chat: each page decrypts the other's messages, and neither text is in any WebSocket frame;
//      once alice uses a key bob was never given, his page shows her message as undecryptable (NO_KEY);
//      dave, a Java client of the JUnit side with the same kind of key, and alice exchange messages
//      that each decrypts (the JUnit side encrypts and decrypts with the JDK's AES-GCM).
// The server is run by BrowserClientTest, which this program asks to stop and start it by writing
// "control: stop-server" / "control: start-server" on stdout and reading "stopped" / "started"
// (and "control: send-media" / "sent").
//
//   node browser-client.mjs --url http://127.0.0.1:7190/app/ --screenshots DIR
// with the users' tokens in COURIER_TOKENS, a JSON object {"alice": "...", "bob": "...", "carol": "..."}.

import { WAIT_MS, encrypt, launchChromium, type } from './pages.mjs';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';

const CONTROL_MS = 60_000;

const { values: args } = parseArgs({ options: { url: { type: 'string' }, screenshots: { type: 'string' } } });
if (!args.url || !args.screenshots || !process.env.COURIER_TOKENS) {
    console.error('usage: COURIER_TOKENS=\'{"alice":"…","bob":"…","carol":"…"}\' node browser-client.mjs --url URL --screenshots DIR');
    process.exit(2);
}
const tokens = JSON.parse(process.env.COURIER_TOKENS);
mkdirSync(args.screenshots, { recursive: true });

// ---------------------------------------------------------------- the test's control channel

const lines = readline.createInterface({ input: process.stdin });
const answers = [];
const waiting = [];
lines.on('line', (line) => (waiting.length > 0 ? waiting.shift()(line) : answers.push(line)));

/** Asks the JUnit side to do something to the server and waits for its answer. */
function control(command, answer) {
    console.log(`control: ${command}`);
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no '${answer}' within ${CONTROL_MS} ms after '${command}'`)), CONTROL_MS);
        const take = (line) => {
            clearTimeout(timer);
            if (answer === null) {
                resolve(line.trim());
            } else if (line.trim() === answer) {
                resolve();
            } else {
                reject(new Error(`asked to ${command}, the test answered '${line}'`));
            }
        };
        if (answers.length > 0) {
            take(answers.shift());
        } else {
            waiting.push(take);
        }
    });
}

// ---------------------------------------------------------------- pages

const pages = [];
/** Every WebSocket frame any page sent or received, as text, for the search for plaintext. */
const wire = [];

async function openPage(browser, user, { blockWebSocket = false, paste = false } = {}) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
    if (blockWebSocket) {
        // As a network or an extension that refuses WebSocket would: the page cannot make one.
        await context.addInitScript(() => {
            window.__webSocketsRefused = 0;
            window.WebSocket = function BlockedWebSocket() {
                window.__webSocketsRefused++;
                throw new DOMException('WebSocket is blocked here', 'SecurityError');
            };
        });
    }
    const page = await context.newPage();
    page.on('websocket', (ws) => {
        ws.on('framesent', (f) => wire.push(String(f.payload)));
        ws.on('framereceived', (f) => wire.push(String(f.payload)));
    });
    const log = [];
    page.on('console', (m) => log.push(`[${user} console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.push(`[${user} page error] ${e.message}`));
    pages.push({ user, page, log });
    if (paste) {
        // As a person would: open the page, see only the sign-in form, paste the token.
        await page.goto(args.url);
        await page.waitForSelector('#signin-form', { state: 'visible', timeout: WAIT_MS });
        if (await page.isVisible('#chat')) {
            throw new Error(`${user}'s page shows the chat before anyone signed in`);
        }
        await page.fill('#token', tokens[user]);
        await page.click('#signin-button');
        await page.waitForSelector('#chat', { state: 'visible', timeout: WAIT_MS });
        if (await page.isVisible('#signin-form')) {
            throw new Error(`${user}'s page still shows the sign-in form after signing in`);
        }
    } else {
        await page.goto(`${args.url}#token=${encodeURIComponent(tokens[user])}`);
    }
    return page;
}

function step(text) {
    console.log(`browser: ${text}`);
}

async function connected(page, transport) {
    await page.waitForSelector(`#status[data-state="connected"][data-transport="${transport}"]`, { timeout: WAIT_MS });
}

async function openConversation(page, peer) {
    await page.fill('#peer', peer);
    await page.click('#open-conversation');
    await page.waitForSelector('#composer:not([hidden])', { timeout: WAIT_MS });
}

async function clickConversation(page, peer) {
    await page.click(`#conversations li[data-peer="${peer}"]`, { timeout: WAIT_MS });
}

/** Waits until the shown conversation has a message with this text (and this state, if given). */
async function message(page, dir, text, state) {
    await page.waitForFunction(([dir, text, state]) => [...document.querySelectorAll(`#messages li.message.${dir}`)]
        .some((li) => li.querySelector('.text').textContent === text && (!state || li.dataset.state === state)),
    [dir, text, state], { timeout: WAIT_MS });
}

/** The tick a person sees on an outgoing message: its glyphs and colour. */
async function tickOf(page, text) {
    return page.evaluate((text) => {
        const li = [...document.querySelectorAll('#messages li.message.out')].find((l) => l.querySelector('.text').textContent === text);
        const tick = li?.querySelector('.tick');
        return tick ? { glyphs: tick.textContent, colour: getComputedStyle(tick).color } : null;
    }, text);
}

async function expectBlue(page, text) {
    await message(page, 'out', text, 'read');
    const tick = await tickOf(page, text);
    if (tick?.glyphs !== '✓✓' || tick.colour !== 'rgb(52, 183, 241)') {
        throw new Error(`the read tick of '${text}' shows ${JSON.stringify(tick)}, not a blue ✓✓`);
    }
}

async function count(page, dir, text) {
    return page.evaluate(([dir, text]) => [...document.querySelectorAll(`#messages li.message.${dir}`)]
        .filter((li) => li.querySelector('.text').textContent === text).length, [dir, text]);
}

async function screenshot(page, name) {
    const file = path.join(args.screenshots, `${name}.png`);
    await page.screenshot({ path: file });
    step(`screenshot ${file}`);
}

// ---------------------------------------------------------------- scenarios

async function webSocketChat(alice, bob) {
    await connected(alice, 'websocket');
    await connected(bob, 'websocket');
    step('alice (token in the URL fragment) and bob (token pasted into the form) are connected over WebSocket');
    const hello = 'Hello Bob, this is Alice over WebSocket';
    await openConversation(alice, 'bob');
    await type(alice, hello);
    // Bob's page stores and acknowledges it without showing it: the double tick, not yet blue.
    await message(alice, 'out', hello, 'delivered');
    await bob.waitForSelector('#conversations li[data-peer="alice"] .unread', { timeout: WAIT_MS });
    step('alice sees ✓✓ delivered; bob has an unread message from alice');
    await clickConversation(bob, 'alice');
    await message(bob, 'in', hello);
    await expectBlue(alice, hello);
    step('bob opened the conversation: alice sees a blue ✓✓');
    const reply = 'Hi Alice! Bob here.';
    await type(bob, reply);
    await message(alice, 'in', reply);
    await expectBlue(bob, reply);
    step('bob replied; alice has the conversation on screen, so bob sees a blue ✓✓ at once');
    await screenshot(alice, 'websocket-alice');
    await screenshot(bob, 'websocket-bob');
}

async function longPollingChat(alice, carol) {
    await connected(carol, 'longpoll');
    const refused = await carol.evaluate(() => window.__webSocketsRefused);
    if (!(refused > 0)) {
        throw new Error(`carol's page made no attempt at a WebSocket (${refused}) before long polling`);
    }
    step(`carol's browser refused ${refused} WebSocket(s); her page is connected over long polling`);
    const hello = 'Hello Alice, Carol here, over long polling';
    await openConversation(carol, 'alice');
    await type(carol, hello);
    await message(carol, 'out', hello, 'delivered');
    await clickConversation(alice, 'carol');
    await message(alice, 'in', hello);
    await expectBlue(carol, hello);
    const reply = 'Welcome, Carol';
    await type(alice, reply);
    await message(carol, 'in', reply);
    await expectBlue(alice, reply);
    step('carol and alice chatted through the blue ticks, carol on long polling');
    await screenshot(carol, 'longpoll-carol');
}

async function outage(alice, bob) {
    await alice.waitForFunction(() => document.documentElement.dataset.offlineCopy === 'ready', null, { timeout: WAIT_MS });
    await clickConversation(alice, 'bob');
    await control('stop-server', 'stopped');
    await alice.waitForSelector('#status[data-state="offline"]', { timeout: WAIT_MS });
    step('the server is down; alice\'s page says it is offline');
    const text = 'Typed while the server was down';
    await type(alice, text);
    await message(alice, 'out', text, 'pending');
    await alice.waitForSelector('#status[data-queued="1"]', { timeout: WAIT_MS });
    await screenshot(alice, 'outage-queued');
    await alice.reload();
    await message(alice, 'out', text, 'pending');
    await alice.waitForSelector('#status[data-state="offline"][data-queued="1"]', { timeout: WAIT_MS });
    step('alice reloaded the page while the server was down: her message is still queued');
    await control('start-server', 'started');
    await connected(alice, 'websocket');
    await message(bob, 'in', text);
    await expectBlue(alice, text);
    const copies = await count(bob, 'in', text);
    if (copies !== 1) {
        throw new Error(`bob shows '${text}' ${copies} times, not once`);
    }
    step('the server is back: the message reached bob once, and alice sees a blue ✓✓');
    await screenshot(alice, 'outage-delivered-alice');
    await screenshot(bob, 'outage-delivered-bob');
}

async function encryptedMessage(page, dir, text, mode) {
    await page.waitForFunction(([dir, text, mode]) => [...document.querySelectorAll(`#messages li.message.${dir}`)]
        .some((li) => li.querySelector('.text').textContent === text && li.dataset.e2e === mode),
    [dir, text, mode], { timeout: WAIT_MS });
}

async function sharedKey(alice, bob, frames) {
    const key = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('');
    await clickConversation(alice, 'bob');
    await clickConversation(bob, 'alice');
    await encrypt(alice, 'shared', key);
    await encrypt(bob, 'shared', key);
    const secret = 'Shared-key secret from Alice: tangerine-7731';
    await type(alice, secret);
    await encryptedMessage(bob, 'in', secret, 'shared');
    await expectBlue(alice, secret);
    const reply = 'Shared-key reply from Bob: aubergine-5520';
    await type(bob, reply);
    await encryptedMessage(alice, 'in', reply, 'shared');
    step('alice and bob share a key: each page decrypted the other\'s message');
    const seen = frames.filter((f) => f.includes('tangerine-7731') || f.includes('aubergine-5520'));
    if (seen.length > 0) {
        throw new Error(`a WebSocket frame carries the plaintext: ${seen[0].slice(0, 200)}`);
    }
    if (!frames.some((f) => f.includes('application/vnd.courier.e2e'))) {
        throw new Error('no WebSocket frame carries an encrypted message');
    }
    step(`neither text is in any of the ${frames.length} WebSocket frames the two pages sent and received`);
    // Alice changes to a key bob was never given (his page keeps every key it had, so old
    // messages still open): her next message has a key id his page does not know.
    await encrypt(alice, 'shared', 'f'.repeat(64));
    await type(alice, 'Bob cannot read this one');
    await bob.waitForSelector('#messages li.message.in[data-e2e="undecryptable"][data-reason="NO_KEY"]', { timeout: WAIT_MS });
    await screenshot(bob, 'shared-key-undecryptable-bob');
    step('with another key bob\'s page shows alice\'s message as undecryptable (NO_KEY)');
    // Dave, a Java client, with a key of his own with alice.
    const daveKey = await control('java-shared-key', null);
    await openConversation(alice, 'dave');
    await encrypt(alice, 'shared', daveKey);
    await control('java-send', 'sent');
    await encryptedMessage(alice, 'in', 'Hello Alice, from Java: pomegranate-0412', 'shared');
    await type(alice, 'Hello Dave, from the browser: quince-9083');
    await control('java-receive', 'received');
    step('dave (Java, JDK AES-GCM) and alice (browser, WebCrypto) each decrypted the other\'s shared-key message');
    await screenshot(alice, 'shared-key-alice');
    await encrypt(alice, 'off');
    await clickConversation(alice, 'bob');
    await encrypt(alice, 'off');
    await encrypt(bob, 'off');
}

async function presence(alice, bob) {
    await connected(bob, 'websocket');
    await alice.waitForSelector('#peer-status[data-peer="bob"][data-state="online"]', { timeout: WAIT_MS });
    const online = await alice.textContent('#peer-status');
    if (online !== 'online') {
        throw new Error(`alice's page shows bob's presence as '${online}', not 'online'`);
    }
    step('alice\'s page says bob is online');
    await screenshot(alice, 'presence-online-alice');
    await bob.context().close();
    await alice.waitForSelector('#peer-status[data-peer="bob"][data-state="offline"]', { timeout: WAIT_MS });
    const seen = await alice.textContent('#peer-status');
    // "today", unless the test ran across midnight.
    if (!/^last seen (today|\S+) at \d{1,2}[:.]\d\d/.test(seen)) {
        throw new Error(`alice's page shows bob's presence as '${seen}', not 'last seen today at …'`);
    }
    step(`bob closed his page: alice's page says '${seen}'`);
    await screenshot(alice, 'presence-last-seen-alice');
}

async function media(bob) {
    await control('send-media', 'sent');
    await clickConversation(bob, 'alice');
    const image = '.message.in .media[data-state="ready"] img';
    await bob.waitForSelector(image, { timeout: WAIT_MS });
    await bob.waitForFunction((selector) => {
        const img = document.querySelector(selector);
        return img && img.complete && img.naturalWidth > 0;
    }, image, { timeout: WAIT_MS });
    const width = await bob.$eval(image, (img) => img.naturalWidth);
    const link = await bob.waitForSelector('.message.in .media[data-state="ready"] a[download]', { timeout: WAIT_MS });
    const name = await link.getAttribute('download');
    if (!name.endsWith('.pdf')) {
        throw new Error(`the PDF's link saves it as '${name}'`);
    }
    step(`bob's page fetched alice's files from the media service and checked their SHA-256: the image inline (${width} px wide), the PDF as a link to ${name}`);
    await screenshot(bob, 'media-bob');
}

// ---------------------------------------------------------------- main

const browser = await launchChromium();
let failed = false;
try {
    step(`Chromium ${browser.version()}, page ${args.url}`);
    const alice = await openPage(browser, 'alice');
    const bob = await openPage(browser, 'bob', { paste: true });
    await webSocketChat(alice, bob);
    const carol = await openPage(browser, 'carol', { blockWebSocket: true });
    await longPollingChat(alice, carol);
    await outage(alice, bob);
    await media(bob);
    await sharedKey(alice, bob, wire);
    await presence(alice, bob);
    console.log('browser: all 6 scenarios passed: websocket chat, long-polling fallback, message typed while the server was down, files from the media service, shared-key encryption, presence');
} catch (e) {
    failed = true;
    console.log(`browser: FAILED: ${e.stack ?? e}`);
    for (const { user, page, log } of pages) {
        log.slice(-30).forEach((line) => console.log(line));
        const status = await page.textContent('#status').catch(() => '(no status)');
        console.log(`[${user}] status line: ${status}`);
        await page.screenshot({ path: path.join(args.screenshots, `failed-${user}.png`) }).catch(() => {});
    }
} finally {
    await browser.close();
    lines.close();
}
process.exit(failed ? 1 : 0);
