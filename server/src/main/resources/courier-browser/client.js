// The client: the page's outbox, history and ticks in IndexedDB (store.js), one connection at a
// time to the server (transports.js: WebSocket first, long polling when WebSocket cannot be
// opened), and the rules of docs/PROTOCOL.md section 1.14:
//   - hello first; heartbeats on the interval welcome announces (long polling: the poll is one);
//   - every incoming deliver and receipt is committed to IndexedDB before it is acknowledged, many
//     per transaction and at most max-ids-per-ack (1,024) ids per acknowledgement;
//   - every send without an `accepted` is sent again, in order and with its client id, on every
//     (re)connect — the server answers a repeat with the original `accepted`; at most
//     MAX_IN_FLIGHT are unanswered at once;
//   - RATE_LIMITED: nothing more is sent until retry_after_ms has passed; OVERLOADED, INTERNAL,
//     SHUTTING_DOWN and INBOX_FULL are retried with back-off, never dropped; a send refused for
//     good (INVALID_RECIPIENT, PAYLOAD_TOO_LARGE, INVALID_ARGUMENT) becomes `failed` with the
//     server's code and text, and the sends after it still go out;
//   - presence: the page watches the users it names (watch), subscribing on every connection,
//     and keeps what the server last said of each (presenceOf) while connected;
//   - reconnects by itself with exponential back-off and full jitter, capped, reset once a
//     welcome arrives; not after SESSION_REPLACED, AUTH_FAILED, TOKEN_EXPIRED or TOO_MANY_DEVICES;
//   - end-to-end encryption per conversation (docs/E2E.md, secure.js): a shared-key message is
//     encrypted when it is stored in the outbox; a Signal one once the recipient's and this user's
//     other devices are known (KeyBundleFetch), one payload per device (Send.device_payloads),
//     again after STALE_DEVICES; the bundle is published on every connection, more one-time
//     pre-keys after PreKeysLow; a delivered envelope is decrypted before the transaction that
//     stores the message, which also stores the session it moved; one that cannot be is stored
//     as undecryptable, with its reason, and acknowledged like any other.

import * as e2e from './e2e.js';
import { Changes, Secure, bundleOf } from './secure.js';
import { Store, later } from './store.js';
import { LongPollTransport, RetryLater, WebSocketTransport } from './transports.js';

const MAX_IDS_PER_FRAME = 1024;
const MAX_IN_FLIGHT = 64;
const OPEN_TIMEOUT_MS = 8_000;
const WELCOME_TIMEOUT_MS = 15_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_CAP_MS = 10_000;
const MAX_PAYLOAD_BYTES = 1_048_576;
const AGENT = 'courier-browser/1';
const FETCH_TIMEOUT_MS = 15_000;

/** Refusals that will not change if the send is repeated. */
const PERMANENT = new Set(['INVALID_ARGUMENT', 'INVALID_RECIPIENT', 'PAYLOAD_TOO_LARGE']);
/** Fatal errors after which reconnecting by itself would be wrong, and what the page should say. */
const STOPPING = {
    SESSION_REPLACED: 'This device signed in somewhere else (another tab?); reconnect here to take over',
    AUTH_FAILED: 'The server refused the token',
    TOKEN_EXPIRED: 'The token has expired; sign in with a new one',
    TOO_MANY_DEVICES: 'This user has the most devices the server allows; sign in as one of them',
};

const USER_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export function isUserId(text) {
    return USER_ID.test(text);
}

function randomId() {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    return 'b' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function toBase64(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
        text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
}

function fromBase64(text) {
    const raw = atob((text ?? '').replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function describePayload(contentType, payload) {
    const bytes = fromBase64(payload);
    if (!contentType || contentType.startsWith('text/')) {
        return new TextDecoder().decode(bytes);
    }
    return `[${contentType}, ${bytes.length} bytes]`;
}

/** A Deliver's MediaRef as the page keeps it, or null: the file itself is fetched over HTTP when shown. */
function mediaOf(ref) {
    if (!ref || !ref.url) {
        return null;
    }
    return { url: ref.url, contentType: ref.contentType ?? '', sizeBytes: Number(ref.sizeBytes ?? 0), sha256: ref.sha256 ?? '' };
}

/**
 * Downloads a message's file from its presigned URL (never over the chat connection) and checks its
 * SHA-256 against the reference; resolves to a Blob of it, or rejects saying why.
 */
export async function fetchMedia(media) {
    const response = await fetch(media.url);
    if (!response.ok) {
        throw new Error(`The file's URL answered ${response.status}${response.status === 403 ? ' (the link may have expired)' : ''}`);
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length !== media.sizeBytes) {
        throw new Error(`The file has ${bytes.length} bytes, the message says ${media.sizeBytes}`);
    }
    if (globalThis.crypto?.subtle && media.sha256) {
        const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        const expected = fromBase64(media.sha256);
        if (hash.length !== expected.length || hash.some((b, i) => b !== expected[i])) {
            throw new Error('The file does not match the SHA-256 the message carries: it was changed or corrupted');
        }
    }
    if (media.secret) {
        // An end-to-end encrypted file: its digest and MAC checked, then decrypted (BAD_MEDIA otherwise).
        return new Blob([await e2e.MediaCipher.decrypt(bytes, media.secret)], { type: media.contentType || 'application/octet-stream' });
    }
    return new Blob([bytes], { type: media.contentType || 'application/octet-stream' });
}

function chunks(list, size) {
    const out = [];
    for (let i = 0; i < list.length; i += size) {
        out.push(list.slice(i, i + size));
    }
    return out;
}

/** One connection's state: what was sent on it and is not answered yet. */
class Link {
    constructor(transport) {
        this.transport = transport;
        this.welcomed = false;
        this.heartbeatMs = 5_000;
        this.lastSentAt = Date.now();
        this.written = 0;
        this.inFlight = new Map();
        this.pausedUntil = 0;
        this.requests = new Map();
        this.readGroups = [];
        this.fatal = null;
        this.timers = new Set();
    }

    later(ms, action) {
        const timer = setTimeout(() => {
            this.timers.delete(timer);
            action();
        }, ms);
        this.timers.add(timer);
    }

    stopTimers() {
        this.timers.forEach(clearTimeout);
        this.timers.clear();
        clearInterval(this.heartbeat);
    }
}

export class CourierClient extends EventTarget {
    /** Opens the device's database and starts connecting. */
    static async start({ user, device, token, config }) {
        const store = await Store.open(user, device);
        const client = new CourierClient(user, device, token, config, store);
        client.secure = await Secure.load(store);
        await client.load();
        client.run();
        return client;
    }

    constructor(user, device, token, config, store) {
        super();
        this.user = user;
        this.device = device;
        this.token = token;
        this.config = config;
        this.store = store;
        this.messages = new Map();
        this.bySid = new Map();
        this.outbox = [];
        this.reads = new Set();
        this.nextSeq = 1;
        this.link = null;
        this.stopped = false;
        this.attempt = 0;
        this.wake = null;
        this.serial = Promise.resolve();
        this.incoming = [];
        this.incomingQueued = false;
        this.nextRequestId = 1;
        this.watched = [];
        this.watchRefused = false;
        this.presence = new Map();
        this.status = { state: 'connecting', transport: null, reason: null, retryAt: null };
        this.secure = null;
    }

    async load() {
        for (const m of await this.store.all('messages')) {
            this.remember(m);
        }
        this.outbox = (await this.store.all('outbox')).sort((a, b) => a.seq - b.seq);
        for (const r of await this.store.all('reads')) {
            this.reads.add(r.sid);
        }
        const meta = await this.store.all('meta');
        this.nextSeq = meta.find((m) => m.k === 'seq')?.v ?? 1;
    }

    remember(message) {
        this.messages.set(message.key, message);
        if (message.sid) {
            this.bySid.set(message.sid, message.key);
        }
    }

    // ------------------------------------------------------------------ what the page calls

    /** Conversations, most recent first: {peer, last, unread}. */
    conversations() {
        const byPeer = new Map();
        for (const m of this.messages.values()) {
            const c = byPeer.get(m.conv) ?? { peer: m.conv, last: 0, unread: 0 };
            c.last = Math.max(c.last, m.at);
            if (m.dir === 'in' && m.state === 'unread') {
                c.unread++;
            }
            byPeer.set(m.conv, c);
        }
        return [...byPeer.values()].sort((a, b) => b.last - a.last);
    }

    /** The messages with `peer`, oldest first. */
    history(peer) {
        return [...this.messages.values()].filter((m) => m.conv === peer)
            .sort((a, b) => a.at - b.at || (a.seq ?? 0) - (b.seq ?? 0));
    }

    queued() {
        return this.outbox.length;
    }

    /**
     * Stores the message in the outbox and history in one transaction, then sends it if
     * connected. Resolves with the stored message, connected or not.
     */
    send(to, text) {
        if (!isUserId(to)) {
            return Promise.reject(new Error(`'${to}' is not a user id: 1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.'`));
        }
        const payload = new TextEncoder().encode(text);
        if (payload.length > MAX_PAYLOAD_BYTES) {
            return Promise.reject(new Error(`The message is ${payload.length} bytes; the server takes at most ${MAX_PAYLOAD_BYTES}`));
        }
        return this.mutate(async () => {
            const seq = this.nextSeq;
            const cid = randomId();
            const mode = this.secure.settingOf(to).mode;
            const message = {
                key: `c:${cid}`, cid, sid: null, seq, conv: to, dir: 'out', from: this.user, to, text,
                contentType: 'text/plain', payload: toBase64(payload), at: Date.now(), state: 'pending', error: null,
                e2e: mode === 'off' ? null : mode,
            };
            if (mode !== 'off') {
                const plaintext = e2e.PlainMessage.encode({ contentType: 'text/plain', body: payload });
                message.contentType = e2e.CONTENT_TYPE;
                if (mode === 'shared') {
                    const conversation = { sender: this.user, senderDevice: this.device, recipient: to, clientMessageId: cid };
                    message.payload = toBase64(await this.secure.encryptShared(to, conversation, plaintext));
                } else {
                    // Encrypted per device once the devices are known (prepareSignal).
                    message.payload = null;
                    message.devicePayloads = null;
                }
            }
            await this.store.transaction(['messages', 'outbox', 'meta'], (s) => {
                s.messages.put(message);
                s.outbox.put({ seq, cid });
                s.meta.put({ k: 'seq', v: seq + 1 });
            });
            this.nextSeq = seq + 1;
            this.remember(message);
            this.outbox.push({ seq, cid });
            this.changed(to);
            this.pump(this.link);
            return message;
        });
    }

    /**
     * The user has seen every message from `peer`: they are marked read here, and read receipts
     * go to the server (again after every reconnect, until the server is known to have them).
     */
    markRead(peer) {
        const unread = this.history(peer).filter((m) => m.dir === 'in' && m.state === 'unread');
        if (unread.length === 0) {
            return Promise.resolve();
        }
        return this.mutate(async () => {
            const fresh = unread.map((m) => this.messages.get(m.key)).filter((m) => m.state === 'unread');
            const updated = fresh.map((m) => ({ ...m, state: 'read' }));
            await this.store.transaction(['messages', 'reads'], (s) => {
                for (const m of updated) {
                    s.messages.put(m);
                    s.reads.put({ sid: m.sid });
                }
            });
            updated.forEach((m) => {
                this.remember(m);
                this.reads.add(m.sid);
            });
            this.changed(peer);
            this.sendReads(this.link, updated.map((m) => m.sid));
        });
    }

    /**
     * Watches these users' presence (replacing the previous watch) for as long as the page runs:
     * a `presence` event whenever the server says something of one of them.
     */
    watch(users) {
        const list = [...new Set(users.filter(isUserId))];
        if (list.join(' ') === this.watched.join(' ')) {
            return;
        }
        this.watched = list;
        this.watchRefused = false;
        if (this.link?.welcomed) {
            this.subscribe(this.link);
        }
    }

    /** What the server last said of `user` on this connection: {online, lastSeenMs (0: unknown)}, or null. */
    presenceOf(user) {
        return this.presence.get(user) ?? null;
    }

    /** The conversation's encryption: {mode: 'off' | 'shared' | 'signal', keyId}. */
    encryptionOf(peer) {
        return this.secure.settingOf(peer);
    }

    /** Sets the conversation's encryption; `sharedKey` (hex or base64 of 32 bytes) for 'shared'. */
    setEncryption(peer, mode, sharedKey) {
        return this.mutate(async () => {
            await this.secure.setSetting(peer, mode, sharedKey);
            this.changed(peer);
        });
    }

    /** The safety number with `peer` ("12345 67890 …"), or null while none of their keys is known. */
    safetyNumber(peer) {
        return this.secure.safetyNumber(this.user, this.device, peer);
    }

    subscribe(link) {
        this.writeRequest(link, { presenceSubscribe: { users: this.watched } });
    }

    /** Tries to connect now instead of at the end of the back-off (a button, the browser going online). */
    retryNow() {
        if (this.stopped && this.status.state === 'stopped') {
            this.stopped = false;
            this.run();
            return;
        }
        this.wake?.();
    }

    close() {
        this.stopped = true;
        this.link?.transport.close();
        this.wake?.();
        this.store.close();
    }

    // ------------------------------------------------------------------ the connection loop

    async run() {
        while (!this.stopped) {
            this.setStatus({ state: 'connecting', transport: null, reason: this.status.reason, retryAt: null });
            let transport;
            let retryAfterMs = 0;
            try {
                transport = await this.open();
            } catch (e) {
                retryAfterMs = e instanceof RetryLater ? e.retryAfterMs : 0;
                await this.backOff(e.message, retryAfterMs);
                continue;
            }
            const ended = await this.session(transport);
            if (ended.stop) {
                this.stopped = true;
                this.setStatus({ state: 'stopped', transport: null, reason: ended.reason, code: ended.code, retryAt: null });
                return;
            }
            if (!this.stopped) {
                await this.backOff(ended.reason, ended.retryAfterMs ?? 0);
            }
        }
    }

    /** WebSocket when the browser lets the page open one, else (or when it fails to open) long polling. */
    async open() {
        const { websocket, longPolling } = this.config;
        const problems = [];
        if (websocket && typeof WebSocket === 'function') {
            try {
                return await WebSocketTransport.open(websocket, OPEN_TIMEOUT_MS);
            } catch (e) {
                problems.push(e.message);
            }
        } else if (websocket) {
            problems.push('this browser offers no WebSocket');
        }
        if (longPolling) {
            try {
                return await LongPollTransport.open(longPolling, OPEN_TIMEOUT_MS);
            } catch (e) {
                if (e instanceof RetryLater) {
                    throw e;
                }
                problems.push(e.message);
            }
        }
        throw new Error(problems.join('; ') || 'the server runs neither the ws nor the longpoll transport');
    }

    async backOff(reason, atLeastMs) {
        // Full jitter: anywhere between 0 and the capped exponential, so that many pages dropped by
        // one restart do not all come back in the same instant.
        const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
        this.attempt++;
        const delay = Math.max(atLeastMs, Math.random() * ceiling);
        this.setStatus({ state: 'offline', transport: null, reason, retryAt: Date.now() + delay });
        await new Promise((resolve) => {
            const timer = setTimeout(done, delay);
            function done() {
                clearTimeout(timer);
                resolve();
            }
            this.wake = done;
        });
        this.wake = null;
    }

    /** One connection, from hello to its close; resolves with how it ended. */
    session(transport) {
        return new Promise((resolve) => {
            const link = new Link(transport);
            this.link = link;
            transport.onframe = (frame) => this.onFrame(link, frame);
            transport.onclose = (reason) => {
                link.stopTimers();
                if (this.link === link) {
                    this.link = null;
                }
                if (this.presence.size > 0) {
                    // Without a connection nothing is known of anyone's presence.
                    this.presence.clear();
                    this.dispatchEvent(new CustomEvent('presence', { detail: null }));
                }
                const code = link.fatal?.code;
                if (code && STOPPING[code]) {
                    resolve({ stop: true, code, reason: `${STOPPING[code]} (${code}: ${link.fatal.text})` });
                } else if (code === 'TOO_MANY_CONNECTIONS') {
                    resolve({ reason: link.fatal.text, retryAfterMs: 5_000 });
                } else {
                    resolve({ reason: link.fatal ? `${code}: ${link.fatal.text}` : reason });
                }
            };
            this.write(link, {
                hello: {
                    user: this.user, device: this.device, token: this.token, clientAgent: AGENT,
                    // 0: the server writes whatever is still pending, so an entry stored here whose
                    // acknowledgement was lost with the last connection comes again, is found to be
                    // a duplicate, and is acknowledged again (section 1.7).
                    resumeAfterServerId: '0',
                },
                requestId: String(this.nextRequestId++),
            });
            link.later(WELCOME_TIMEOUT_MS, () => {
                if (!link.welcomed) {
                    transport.close();
                }
            });
        });
    }

    write(link, frame) {
        if (!link || link.transport.closed) {
            return false;
        }
        link.transport.send(frame);
        link.lastSentAt = Date.now();
        link.written++;
        return true;
    }

    /** A request whose refusal (OVERLOADED, RATE_LIMITED) says to send it again: remembered by its id. */
    writeRequest(link, frame) {
        const id = String(this.nextRequestId++);
        link.requests.set(id, frame);
        if (link.requests.size > 512) {
            link.requests.delete(link.requests.keys().next().value);
        }
        return this.write(link, { ...frame, requestId: id });
    }

    onFrame(link, frame) {
        if (link !== this.link) {
            return;
        }
        if (frame.welcome) {
            this.welcomed(link, frame.welcome);
        } else if (frame.accepted) {
            this.mutate(() => this.accepted(link, frame.accepted));
        } else if (frame.deliver || frame.receipt) {
            this.incoming.push({ link, frame });
            if (!this.incomingQueued) {
                this.incomingQueued = true;
                this.mutate(() => this.storeIncoming());
            }
        } else if (frame.keyBundles) {
            const pending = link.fetches?.get(String(frame.requestId ?? ''));
            if (pending) {
                link.fetches.delete(String(frame.requestId));
                pending.resolve(frame.keyBundles);
            } else if (link.publishing?.id === String(frame.requestId ?? '')) {
                const keys = link.publishing.keys;
                link.publishing = null;
                this.mutate(() => this.secure.published(keys));
            }
        } else if (frame.preKeysLow) {
            this.mutate(async () => {
                await this.secure.replenish();
                this.publish(link);
            });
        } else if (frame.error) {
            const pending = link.fetches?.get(String(frame.error.requestId ?? ''));
            if (pending) {
                link.fetches.delete(String(frame.error.requestId));
                pending.reject(new Error(`${frame.error.code}: ${frame.error.text}`));
                return;
            }
            this.refused(link, frame.error);
        } else if (frame.presence) {
            const p = frame.presence;
            const value = { online: p.online === true, lastSeenMs: Number(p.lastSeenMs) || 0 };
            this.presence.set(p.user, value);
            this.dispatchEvent(new CustomEvent('presence', { detail: { user: p.user, ...value } }));
        }
        // Anything else (key bundles, bodies a newer server may add) is not for this page.
    }

    welcomed(link, welcome) {
        link.welcomed = true;
        link.heartbeatMs = Number(welcome.heartbeatIntervalMs) || 5_000;
        this.attempt = 0;
        this.setStatus({ state: 'connected', transport: link.transport.name, reason: null, retryAt: null });
        if (link.transport.name === 'websocket') {
            // Long polling needs none: the outstanding poll is the client's activity (section 6.5).
            link.heartbeat = setInterval(() => {
                const now = Date.now();
                if (now >= link.pausedUntil && now - link.lastSentAt >= link.heartbeatMs) {
                    this.write(link, { heartbeat: { clientTimeMs: String(now) } });
                }
            }, Math.max(250, link.heartbeatMs / 4));
        }
        this.sendReads(link, [...this.reads]);
        this.publish(link);
        this.pump(link);
        if (this.watched.length > 0 && !this.watchRefused) {
            // The server's subscriptions end with the session: every connection subscribes again.
            this.subscribe(link);
        }
    }

    /** Sends what waits in the outbox, oldest first, keeping at most MAX_IN_FLIGHT unanswered. */
    pump(link) {
        if (!link || link !== this.link || !link.welcomed || link.transport.closed) {
            return;
        }
        const now = Date.now();
        if (now < link.pausedUntil) {
            link.later(link.pausedUntil - now, () => this.pump(link));
            return;
        }
        const held = new Set();
        let wakeAt = Infinity;
        for (const entry of this.outbox) {
            if (link.inFlight.size >= MAX_IN_FLIGHT) {
                break;
            }
            const message = this.messages.get(`c:${entry.cid}`);
            if (!message || link.inFlight.has(entry.cid)) {
                continue;
            }
            // A send waiting for its retry holds back the later ones to the same recipient, so a
            // conversation keeps the order of `send`.
            if (held.has(message.to) || (entry.retryAt ?? 0) > now) {
                held.add(message.to);
                wakeAt = Math.min(wakeAt, entry.retryAt ?? Infinity);
                continue;
            }
            if (message.e2e === 'signal' && !message.devicePayloads) {
                held.add(message.to);
                if (!entry.preparing) {
                    entry.preparing = true;
                    this.prepareSignal(link, entry).finally(() => {
                        entry.preparing = false;
                        this.pump(this.link);
                    });
                }
                continue;
            }
            link.inFlight.set(entry.cid, link.written);
            const send = { clientMessageId: entry.cid, recipient: message.to, contentType: message.contentType };
            if (message.devicePayloads) {
                send.devicePayloads = message.devicePayloads;
            } else {
                send.payload = message.payload;
            }
            this.write(link, { send });
        }
        if (wakeAt !== Infinity) {
            link.later(Math.max(0, wakeAt - now), () => this.pump(link));
        }
    }

    async accepted(link, accepted) {
        const cid = accepted.clientMessageId;
        const sid = String(accepted.serverMessageId);
        const writtenAt = link.inFlight.get(cid);
        link.inFlight.delete(cid);
        const message = this.messages.get(`c:${cid}`);
        const entry = this.outbox.find((e) => e.cid === cid);
        if (message) {
            const updated = await this.store.transaction(['messages', 'outbox', 'receipts'], async (s, req) => {
                const orphan = await req(s.receipts.get(sid));
                const state = later(later(message.state, 'sent'), orphan?.state ?? 'pending');
                const m = { ...message, sid, state, acceptedAt: Number(accepted.acceptedAtMs) || null };
                s.messages.put(m);
                if (entry) {
                    s.outbox.delete(entry.seq);
                }
                if (orphan) {
                    s.receipts.delete(sid);
                }
                return m;
            });
            this.remember(updated);
            this.outbox = this.outbox.filter((e) => e.cid !== cid);
            this.changed(updated.conv);
        }
        if (writtenAt !== undefined) {
            // The storage writer takes a connection's frames in order: read receipts written
            // before this send are recorded (section 1.7).
            this.confirmReads(link, writtenAt);
        }
        this.pump(link);
    }

    /**
     * Commits every deliver and receipt that arrived meanwhile in one transaction, then acknowledges
     * them. Encrypted ones are decrypted first (an IndexedDB transaction cannot wait for WebCrypto),
     * one after another so that each sees the session the one before moved; the sessions, the
     * erased one-time pre-keys and the messages are then written together.
     */
    async storeIncoming() {
        this.incomingQueued = false;
        const batch = this.incoming.splice(0);
        const puts = new Map();
        const acks = new Map();
        const conversations = new Set();
        const changes = new Changes();
        const opened = new Map();
        for (const { frame } of batch) {
            const d = frame.deliver;
            const sid = d ? String(d.serverMessageId) : null;
            if (!d || d.contentType !== e2e.CONTENT_TYPE || this.messages.has(`s:${sid}`) || opened.has(sid)
                || (d.sender === this.user && (d.senderDevice || '1') === this.device)) {
                continue;
            }
            const conversation = {
                sender: d.sender, senderDevice: d.senderDevice || '1', recipient: d.recipient, clientMessageId: d.clientMessageId ?? '',
            };
            opened.set(sid, await this.secure.decrypt(conversation, this.user, this.device, fromBase64(d.payload), changes));
        }
        const notices = changes.notices.map((peer) => this.notice(peer, `Your safety number with ${peer} changed`));
        await this.store.transaction(['messages', 'receipts', 'e2e'], async (s, req) => {
            changes.write(s);
            for (const n of notices) {
                s.messages.put(n);
                puts.set(n.key, n);
                conversations.add(n.conv);
            }
            for (const { link, frame } of batch) {
                const entry = frame.deliver ?? frame.receipt;
                const id = String(entry.serverMessageId);
                if (!acks.has(link)) {
                    acks.set(link, []);
                }
                acks.get(link).push(id);
                if (frame.deliver) {
                    this.storeDeliver(s, frame.deliver, id, puts, conversations, opened.get(id));
                } else {
                    await this.storeReceipt(s, req, frame.receipt, puts, conversations);
                }
            }
        });
        this.secure.applied(changes);
        puts.forEach((m) => this.remember(m));
        conversations.forEach((c) => this.changed(c));
        for (const [link, ids] of acks) {
            // Only on the connection they came on: a newer one is written them again (resume point 0).
            if (link === this.link) {
                for (const chunk of chunks(ids, MAX_IDS_PER_FRAME)) {
                    this.writeRequest(link, { deliveryAck: { serverMessageIds: chunk } });
                }
                // A message read here whose acknowledgement had been lost is pending again, and is
                // held by this connection only now that it was written again: read it again.
                this.sendReads(link, ids.filter((id) => this.reads.has(id)));
            }
        }
    }

    storeDeliver(s, d, sid, puts, conversations, opened) {
        const key = `s:${sid}`;
        const mine = d.sender === this.user;
        if (this.messages.has(key) || puts.has(key)) {
            return; // at least once: a duplicate is acknowledged again, not stored again
        }
        if (mine && (d.senderDevice || '1') === this.device) {
            return; // a message to oneself from this very device: its outbox entry is the copy
        }
        const message = {
            key, sid, cid: d.clientMessageId ?? null, conv: mine ? d.recipient : d.sender, dir: mine ? 'out' : 'in',
            from: d.sender, fromDevice: d.senderDevice || '1', to: d.recipient,
            text: d.media ? '' : describePayload(d.contentType, d.payload), contentType: d.contentType ?? '',
            payload: d.payload ?? '', media: mediaOf(d.media),
            at: Number(d.acceptedAtMs) || Date.now(), state: mine ? 'sent' : 'unread', error: null,
        };
        if (d.contentType === e2e.CONTENT_TYPE) {
            Object.assign(message, CourierClient.opened(opened));
            const secret = opened?.plain?.media;
            // The reference names the encrypted blob; what it is, and its key, came in the message.
            message.media = secret && message.media ? {
                ...message.media, contentType: secret.contentType, plainSize: secret.plainSize, fileName: secret.fileName, secret,
            } : null;
        }
        s.messages.put(message);
        puts.set(key, message);
        conversations.add(message.conv);
    }

    /** What a decrypted (or undecryptable) message shows. */
    static opened(result) {
        if (!result) {
            return { e2e: null, undecryptable: 'MALFORMED', text: '' };
        }
        if (result.reason) {
            return { e2e: null, undecryptable: result.reason, undecryptableDetail: result.detail, text: '' };
        }
        const { contentType, body } = result.plain;
        return {
            e2e: result.type === 'SHARED_KEY' ? 'shared' : 'signal', undecryptable: null, contentType,
            text: !contentType || contentType.startsWith('text/') ? new TextDecoder().decode(body) : `[${contentType}, ${body.length} bytes]`,
        };
    }

    /** A line in the conversation that is no message ("safety number changed"). */
    notice(peer, text) {
        return { key: `n:${randomId()}`, sid: null, cid: null, conv: peer, dir: 'notice', from: null, to: null, text, at: Date.now(), state: 'notice' };
    }

    // ------------------------------------------------------------------ Signal mode: keys and per-device sends

    /** This device's bundle, with the one-time pre-keys the server does not have yet. */
    publish(link) {
        if (!link || !link.welcomed || link.transport.closed) {
            return;
        }
        const { frame, keys } = this.secure.publishFrame();
        const id = String(this.nextRequestId);
        if (this.writeRequest(link, frame)) {
            link.publishing = { id, keys };
        }
    }

    /** KeyBundleFetch on this connection: resolves to the KeyBundles answer. */
    fetchBundles(link, user, devices = []) {
        link.fetches ??= new Map();
        const id = String(this.nextRequestId);
        return new Promise((resolve, reject) => {
            link.fetches.set(id, { resolve, reject });
            if (!this.writeRequest(link, { keyBundleFetch: { user, devices } })) {
                link.fetches.delete(id);
                reject(new Error('the connection closed'));
                return;
            }
            link.later(FETCH_TIMEOUT_MS, () => {
                if (link.fetches.delete(id)) {
                    reject(new Error(`no key bundles of ${user} within ${FETCH_TIMEOUT_MS} ms`));
                }
            });
        });
    }

    /**
     * Encrypts a Signal-mode message for each device of its recipient and of this user (but this
     * device), fetching the bundles of devices that have no session yet, and stores the payloads
     * with the sessions they moved in one transaction. A forged bundle fails the message.
     */
    async prepareSignal(link, entry) {
        const message = this.messages.get(`c:${entry.cid}`);
        const users = message.to === this.user ? [this.user] : [message.to, this.user];
        const stale = entry.stale ?? { missing: [], extra: [] };
        const fetched = new Map();
        const targets = [];
        const keysSeen = new Map();
        try {
            for (const user of users) {
                const known = this.secure.devicesOf(user);
                let devices;
                if (Object.keys(known).length === 0 && !stale.missing.some((a) => a.user === user)) {
                    // Never asked: every device of the user.
                    const answer = await this.fetchBundles(link, user);
                    devices = [];
                    const keys = {};
                    for (const b of answer.bundles ?? []) {
                        const bundle = bundleOf(user, b);
                        fetched.set(`${user}/${b.device}`, bundle);
                        keys[b.device] = bundle.identityKey;
                        devices.push(b.device);
                    }
                    keysSeen.set(user, { keys, complete: true });
                } else {
                    devices = Object.keys(known).filter((d) => !stale.extra.some((a) => a.user === user && a.device === d));
                    const added = stale.missing.filter((a) => a.user === user).map((a) => a.device);
                    devices.push(...added.filter((d) => !devices.includes(d)));
                    const need = devices.filter((d) => d !== (user === this.user ? this.device : null)
                        && (!this.secure.hasSession(user, d) || added.includes(d)));
                    if (need.length > 0) {
                        const answer = await this.fetchBundles(link, user, need);
                        const keys = {};
                        for (const b of answer.bundles ?? []) {
                            const bundle = bundleOf(user, b);
                            fetched.set(`${user}/${b.device}`, bundle);
                            keys[b.device] = bundle.identityKey;
                        }
                        keysSeen.set(user, { keys, complete: false, gone: stale.extra.filter((a) => a.user === user).map((a) => a.device) });
                    } else if (stale.extra.some((a) => a.user === user)) {
                        keysSeen.set(user, { keys: {}, complete: false, gone: stale.extra.filter((a) => a.user === user).map((a) => a.device) });
                    }
                }
                for (const device of devices) {
                    if (!(user === this.user && device === this.device)) {
                        targets.push({ user, device });
                    }
                }
            }
        } catch (e) {
            // The connection went, or the server did not answer: again on the next pump.
            entry.retryAt = Date.now() + 1_000;
            console.warn(`courier: cannot fetch key bundles for ${message.to}: ${e.message}`);
            return;
        }
        await this.mutate(async () => {
            const changes = new Changes();
            for (const [user, seen] of keysSeen) {
                if (seen.gone?.length) {
                    const devices = { ...this.secure.devicesOf(user, changes) };
                    seen.gone.forEach((d) => {
                        delete devices[d];
                        changes.delete(`session:${user}/${d}`);
                    });
                    changes.put({ k: `contact:${user}`, devices });
                    if (user !== this.user || seen.gone.some((d) => d !== this.device)) {
                        changes.notices.push(user);
                    }
                }
                const keys = { ...seen.keys };
                if (user === this.user && seen.complete) {
                    keys[this.device] = this.secure.identity.signing.publicKey;
                }
                this.secure.see(user, keys, changes, seen.complete);
            }
            const usable = targets.filter((t) => fetched.has(`${t.user}/${t.device}`) || this.secure.hasSession(t.user, t.device, changes));
            const conversation = { sender: this.user, senderDevice: this.device, recipient: message.to, clientMessageId: message.cid };
            const plaintext = e2e.PlainMessage.encode({ contentType: 'text/plain', body: new TextEncoder().encode(message.text) });
            let updated;
            try {
                if (!usable.some((t) => t.user === message.to)) {
                    throw new e2e.E2eError('NO_SESSION', `${message.to} has no device with published keys`);
                }
                const devicePayloads = await this.secure.encryptForDevices(conversation, usable, fetched, plaintext, changes);
                updated = { ...message, devicePayloads };
            } catch (e) {
                if (!(e instanceof e2e.E2eError)) {
                    throw e;
                }
                updated = { ...message, state: 'failed', error: { code: e.reason, text: e.message } };
            }
            const notices = [...new Set(changes.notices)].filter((u) => u !== this.user || message.to === this.user)
                .map((peer) => this.notice(peer, `Your safety number with ${peer} changed`));
            await this.store.transaction(['messages', 'outbox', 'e2e'], (s) => {
                changes.write(s);
                notices.forEach((n) => s.messages.put(n));
                s.messages.put(updated);
                if (updated.state === 'failed') {
                    s.outbox.delete(entry.seq);
                }
            });
            this.secure.applied(changes);
            notices.forEach((n) => this.remember(n));
            this.remember(updated);
            entry.stale = null;
            if (updated.state === 'failed') {
                this.outbox = this.outbox.filter((e) => e !== entry);
            }
            this.changed(message.to);
        });
    }

    /**
     * STALE_DEVICES: the server named the devices the payloads missed or should not have had, and
     * those whose identity key changed (reinstalled): those are fetched again like missing ones,
     * and their new keys announce the safety-number change before anything is encrypted to them.
     */
    async staleDevices(entry, error) {
        const message = this.messages.get(`c:${entry.cid}`);
        const address = (a) => ({ user: a.user, device: a.device });
        entry.stale = {
            missing: [...(error.missingDevices ?? []), ...(error.changedDevices ?? [])].map(address),
            extra: (error.extraDevices ?? []).map(address),
        };
        entry.tries = (entry.tries ?? 0) + 1;
        const updated = { ...message, devicePayloads: null };
        await this.store.transaction(['messages'], (s) => s.messages.put(updated));
        this.remember(updated);
    }

    async storeReceipt(s, req, r, puts, conversations) {
        const state = r.status === 'READ' || r.status === 2 ? 'read' : r.status === 'DELIVERED' || r.status === 1 ? 'delivered' : null;
        if (!state) {
            return; // an unknown status is no tick (section 2.3)
        }
        const sid = String(r.messageServerId);
        const key = this.bySid.get(sid) ?? [...puts.values()].find((m) => m.sid === sid)?.key;
        const message = key ? puts.get(key) ?? this.messages.get(key) : null;
        if (message && message.dir === 'out') {
            const updated = { ...message, state: later(message.state, state) };
            s.messages.put(updated);
            puts.set(key, updated);
            conversations.add(message.conv);
            return;
        }
        // The message's `accepted` has not been stored (it is on its way, or was lost and comes
        // again after the resend): keep the tick until it has.
        const orphan = await req(s.receipts.get(sid));
        s.receipts.put({ key: sid, state: later(orphan?.state ?? 'pending', state) });
    }

    refused(link, error) {
        const code = error.code;
        if (error.fatal) {
            link.fatal = error;
            if (error.requestId && link.requests.get(String(error.requestId))?.presenceSubscribe) {
                // A server that offers no presence subscriptions: asking again would only be refused again.
                this.watchRefused = true;
                console.warn(`courier: the server refused to watch presence: ${code}: ${error.text}`);
            }
            // The server closes within 5 s anyway; closing now starts the back-off at once.
            link.transport.close();
            return;
        }
        const retryAfterMs = Number(error.retryAfterMs) || 0;
        if (error.clientMessageId) {
            this.sendRefused(link, error, retryAfterMs);
            return;
        }
        const request = error.requestId ? link.requests.get(String(error.requestId)) : null;
        if (request && (code === 'RATE_LIMITED' || code === 'OVERLOADED')) {
            link.requests.delete(String(error.requestId));
            const delay = code === 'RATE_LIMITED' ? retryAfterMs : 250;
            if (code === 'RATE_LIMITED') {
                link.pausedUntil = Math.max(link.pausedUntil, Date.now() + retryAfterMs);
            }
            link.later(delay, () => this.writeRequest(link, request));
            return;
        }
        if (code === 'UNKNOWN_MESSAGE') {
            // The answer to an acknowledgement or read receipt sent again after a reconnect, of an
            // entry the server had already taken (section 1.7); or to a read receipt sent before
            // the server wrote that message again on this connection, which storeIncoming sends
            // again once it has. Either way nothing is missing, and the reads are kept until a
            // later `accepted` shows they were recorded.
            return;
        }
        if (code === 'INTERNAL') {
            // Storage failed for an acknowledgement or read receipt, which the error does not name:
            // a new connection is written every pending entry again, and the reads are sent again.
            link.transport.close();
            return;
        }
        console.warn(`courier: the server refused a frame: ${code}: ${error.text}`);
    }

    sendRefused(link, error, retryAfterMs) {
        const cid = error.clientMessageId;
        link.inFlight.delete(cid);
        const entry = this.outbox.find((e) => e.cid === cid);
        if (!entry) {
            return;
        }
        if (PERMANENT.has(error.code)) {
            this.mutate(() => this.failed(entry, error));
            return;
        }
        if (error.code === 'STALE_DEVICES' && this.messages.get(`c:${cid}`)?.e2e === 'signal' && (entry.tries ?? 0) < 5) {
            this.mutate(() => this.staleDevices(entry, error)).then(() => this.pump(this.link));
            return;
        }
        if (error.code === 'RATE_LIMITED') {
            link.pausedUntil = Math.max(link.pausedUntil, Date.now() + retryAfterMs);
            entry.retryAt = Date.now() + retryAfterMs;
        } else {
            // OVERLOADED, INTERNAL, SHUTTING_DOWN, INBOX_FULL (the recipient must catch up first) and
            // any code this page does not know: again later, with back-off.
            entry.tries = (entry.tries ?? 0) + 1;
            const base = error.code === 'INBOX_FULL' ? 5_000 : 250;
            entry.retryAt = Date.now() + Math.min(60_000, base * 2 ** (entry.tries - 1));
        }
        this.pump(link);
    }

    async failed(entry, error) {
        const message = this.messages.get(`c:${entry.cid}`);
        const updated = { ...message, state: 'failed', error: { code: error.code, text: error.text } };
        await this.store.transaction(['messages', 'outbox'], (s) => {
            s.messages.put(updated);
            s.outbox.delete(entry.seq);
        });
        this.remember(updated);
        this.outbox = this.outbox.filter((e) => e !== entry);
        this.changed(updated.conv);
        this.pump(this.link);
    }

    sendReads(link, sids) {
        if (!link || !link.welcomed || sids.length === 0) {
            return;
        }
        for (const chunk of chunks(sids, MAX_IDS_PER_FRAME)) {
            if (this.writeRequest(link, { readReceipt: { serverMessageIds: chunk } })) {
                link.readGroups.push({ writtenAt: link.written, sids: chunk });
            }
        }
    }

    confirmReads(link, sendWrittenAt) {
        const done = link.readGroups.filter((g) => g.writtenAt <= sendWrittenAt);
        if (done.length > 0) {
            link.readGroups = link.readGroups.filter((g) => g.writtenAt > sendWrittenAt);
            const sids = done.flatMap((g) => g.sids);
            this.mutate(() => this.forgetReads(sids));
        }
    }

    async forgetReads(sids) {
        await this.store.transaction(['reads'], (s) => sids.forEach((sid) => s.reads.delete(sid)));
        sids.forEach((sid) => this.reads.delete(sid));
    }

    // ------------------------------------------------------------------ plumbing

    /**
     * Every change to the database runs here, one after another, each starting once the one
     * before has committed and updated the page's copy: a receipt never races the `accepted` it
     * is about.
     */
    mutate(work) {
        const run = this.serial.then(work);
        this.serial = run.catch((e) => this.storageFailed(e));
        return run;
    }

    storageFailed(e) {
        console.error('courier: IndexedDB failed', e);
        this.setStatus({ ...this.status, reason: `The browser's database failed: ${e.message}` });
    }

    changed(conversation) {
        this.dispatchEvent(new CustomEvent('change', { detail: { conversation } }));
    }

    setStatus(status) {
        this.status = status;
        this.dispatchEvent(new CustomEvent('status', { detail: status }));
    }
}
