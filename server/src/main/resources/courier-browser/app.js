// The page: sign-in, the conversation list, one conversation with its ticks, the status line.
// Everything it shows comes from the client's copy of IndexedDB (client.js), so it shows the same
// after a reload, online or not.

import { CourierClient, fetchMedia, isUserId } from './client.js';

const $ = (id) => document.getElementById(id);
const CREDENTIALS = 'courier.credentials';
const SHOWN = 'courier.shown';
const TICKS = { pending: '◷', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '⚠' };
const TICK_TITLES = {
    pending: 'Waiting to be sent', sent: 'Sent: the server has it', delivered: 'Delivered to their device',
    read: 'Read', failed: 'Not sent',
};

let client = null;
let shown = null;
let countdown = null;

/**
 * Credentials from the URL fragment (`#token=…&user=…&device=…`, never sent to any server), else
 * from this tab's session storage. A fragment is taken out of the address bar once read.
 */
function savedCredentials() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (fragment.get('token')) {
        const credentials = { token: fragment.get('token'), user: fragment.get('user') ?? '', device: fragment.get('device') ?? '' };
        history.replaceState(null, '', location.pathname + location.search);
        return credentials;
    }
    const saved = sessionStorage.getItem(CREDENTIALS);
    return saved ? JSON.parse(saved) : null;
}

/** A v2 token names its user and device (docs/PROTOCOL.md 1.12): the fields left empty are taken from it. */
function complete({ token, user, device }) {
    const fields = token.trim().split(':');
    const fromToken = fields[0] === 'v2' && fields.length === 7 ? { user: fields[2], device: fields[3] } : {};
    return {
        token: token.trim(),
        user: (user || fromToken.user || '').trim(),
        device: (device || (fromToken.device && fromToken.device !== '*' ? fromToken.device : '') || '1').trim(),
    };
}

async function signIn(given) {
    const credentials = complete(given);
    if (!isUserId(credentials.user)) {
        throw new Error(credentials.user ? `'${credentials.user}' is not a user id` : 'Give the user id (the token does not name one)');
    }
    if (!isUserId(credentials.device)) {
        throw new Error(`'${credentials.device}' is not a device id`);
    }
    const response = await fetch('config.json', { cache: 'no-cache' });
    if (!response.ok) {
        throw new Error(`config.json answered ${response.status}`);
    }
    const config = await response.json();
    client = await CourierClient.start({ ...credentials, config });
    sessionStorage.setItem(CREDENTIALS, JSON.stringify(credentials));
    $('signin').hidden = true;
    $('chat').hidden = false;
    $('signout').hidden = false;
    $('whoami').textContent = credentials.device === '1' ? credentials.user : `${credentials.user} (${credentials.device})`;
    client.addEventListener('status', () => renderStatus());
    client.addEventListener('presence', (event) => {
        if (!event.detail || event.detail.user === shown) {
            renderPresence();
        }
    });
    client.addEventListener('change', (event) => {
        renderStatus();
        renderConversations();
        if (event.detail.conversation === shown) {
            renderMessages();
            renderEncryption();
            readIfSeen();
        }
    });
    renderStatus();
    renderConversations();
    const last = sessionStorage.getItem(SHOWN);
    if (last && isUserId(last)) {
        show(last);
    }
}

/** Back to the sign-in form, saying why: the server refused the token, so another is needed. */
function signInAgain(reason) {
    sessionStorage.removeItem(CREDENTIALS);
    client.close();
    $('chat').hidden = true;
    $('signout').hidden = true;
    $('retry').hidden = true;
    $('signin').hidden = false;
    $('whoami').textContent = '';
    $('status').dataset.state = 'signed-out';
    $('status').textContent = 'Not signed in';
    $('signin-error').textContent = reason;
}

function renderStatus() {
    const status = client.status;
    if (status.state === 'stopped' && (status.code === 'AUTH_FAILED' || status.code === 'TOKEN_EXPIRED')) {
        signInAgain(status.reason);
        return;
    }
    const queued = client.queued();
    const el = $('status');
    el.dataset.state = status.state;
    el.dataset.transport = status.transport ?? '';
    el.dataset.queued = String(queued);
    const waiting = queued > 0 ? ` · ${queued} queued` : '';
    clearInterval(countdown);
    $('retry').hidden = status.state !== 'offline' && status.state !== 'stopped';
    $('retry').textContent = status.state === 'stopped' ? 'Reconnect' : 'Retry now';
    if (status.state === 'connected') {
        el.textContent = `Connected (${status.transport === 'websocket' ? 'WebSocket' : 'long polling'})${waiting}`;
    } else if (status.state === 'connecting') {
        el.textContent = `Connecting…${waiting}`;
    } else if (status.state === 'offline') {
        const tick = () => {
            const seconds = Math.max(0, Math.ceil((status.retryAt - Date.now()) / 1000));
            el.textContent = `Offline${waiting} · retrying in ${seconds} s`;
        };
        tick();
        countdown = setInterval(tick, 1000);
        el.title = status.reason ?? '';
    } else {
        el.textContent = `Disconnected: ${status.reason}`;
    }
}

function renderConversations() {
    const list = $('conversations');
    list.replaceChildren();
    const conversations = client.conversations();
    if (shown && !conversations.some((c) => c.peer === shown)) {
        conversations.unshift({ peer: shown, unread: 0 });
    }
    let unreadTotal = 0;
    for (const c of conversations) {
        const li = document.createElement('li');
        li.dataset.peer = c.peer;
        li.classList.toggle('shown', c.peer === shown);
        const name = document.createElement('span');
        name.className = 'peer';
        name.textContent = c.peer;
        li.append(name);
        if (c.unread > 0 && c.peer !== shown) {
            const badge = document.createElement('span');
            badge.className = 'unread';
            badge.textContent = String(c.unread);
            li.append(badge);
            unreadTotal += c.unread;
        }
        li.addEventListener('click', () => show(c.peer));
        list.append(li);
    }
    document.title = `${unreadTotal > 0 ? `(${unreadTotal}) ` : ''}Courier`;
}

function renderMessages() {
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren();
    for (const m of client.history(shown)) {
        const li = document.createElement('li');
        li.className = `message ${m.dir}`;
        li.dataset.state = m.state;
        li.dataset.key = m.key;
        const text = document.createElement('span');
        text.className = 'text';
        text.textContent = m.text;
        if (m.dir === 'notice') {
            li.append(text);
            list.append(li);
            continue;
        }
        if (m.undecryptable) {
            li.dataset.e2e = 'undecryptable';
            li.dataset.reason = m.undecryptable;
            text.textContent = `Could not decrypt this message (${m.undecryptable})`;
            text.title = m.undecryptableDetail ?? '';
        } else if (m.e2e) {
            li.dataset.e2e = m.e2e;
        }
        if (m.media) {
            text.append(mediaElement(m));
        }
        const meta = document.createElement('span');
        meta.className = 'meta';
        meta.textContent = new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        if (m.e2e && !m.undecryptable) {
            const lock = document.createElement('span');
            lock.className = 'lock';
            lock.textContent = ' 🔒';
            lock.title = m.e2e === 'shared' ? 'End-to-end encrypted with the shared key' : 'End-to-end encrypted (Signal)';
            meta.append(lock);
        }
        if (m.dir === 'out') {
            const tick = document.createElement('span');
            tick.className = `tick ${m.state}`;
            tick.textContent = TICKS[m.state] ?? '';
            tick.title = m.state === 'failed' ? `Not sent: ${m.error?.code}: ${m.error?.text}` : TICK_TITLES[m.state] ?? '';
            meta.append(tick);
            if (m.state === 'failed') {
                meta.append(` ${m.error?.code}: ${m.error?.text}`);
            }
        }
        li.append(text, meta);
        list.append(li);
    }
    if (atBottom) {
        list.scrollTop = list.scrollHeight;
    }
}

/** "online", "last seen today at 14:02", "last seen 30/11/2026 at 09:15", or nothing when unknown. */
function presenceText(presence, now = new Date()) {
    if (!presence) {
        return '';
    }
    if (presence.online) {
        return 'online';
    }
    if (!presence.lastSeenMs) {
        return '';
    }
    const at = new Date(presence.lastSeenMs);
    const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return at.toDateString() === now.toDateString() ? `last seen today at ${time}`
        : `last seen ${at.toLocaleDateString()} at ${time}`;
}

function renderPresence() {
    const el = $('peer-status');
    const presence = shown ? client.presenceOf(shown) : null;
    el.dataset.peer = shown ?? '';
    el.dataset.state = !presence ? 'unknown' : presence.online ? 'online' : presence.lastSeenMs ? 'offline' : 'unknown';
    el.textContent = presenceText(presence);
}

// Files fetched and verified in this tab, by message key: a redraw does not fetch them again.
const files = new Map();

function sizeText(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function fileName(m) {
    const ext = (m.media.contentType.split('/')[1] ?? 'bin').replace(/[^a-z0-9]/gi, '').slice(0, 8) || 'bin';
    return `${m.from}-${m.sid ?? m.cid}.${ext}`;
}

/** An image inline once fetched and verified; any other file as a link to save it. */
function mediaElement(m) {
    const box = document.createElement('span');
    box.className = 'media';
    box.dataset.contentType = m.media.contentType;
    const image = m.media.contentType.startsWith('image/');
    let entry = files.get(m.key);
    if (!entry) {
        entry = { state: 'loading' };
        files.set(m.key, entry);
        fetchMedia(m.media).then((blob) => {
            entry.state = 'ready';
            entry.url = URL.createObjectURL(blob);
        }, (e) => {
            entry.state = 'failed';
            entry.error = e.message;
        }).then(() => { if (m.conv === shown) renderMessages(); });
    }
    const label = `${m.media.contentType}, ${sizeText(m.media.plainSize ?? m.media.sizeBytes)}${m.media.secret ? ', end-to-end encrypted' : ''}`;
    if (entry.state === 'loading') {
        box.dataset.state = 'loading';
        box.textContent = `Downloading ${label}…`;
    } else if (entry.state === 'failed') {
        box.dataset.state = 'failed';
        box.textContent = `Cannot show ${label}: ${entry.error}`;
    } else if (image) {
        box.dataset.state = 'ready';
        const img = document.createElement('img');
        img.src = entry.url;
        img.alt = label;
        img.title = label;
        box.append(img);
    } else {
        box.dataset.state = 'ready';
        const a = document.createElement('a');
        a.href = entry.url;
        a.download = fileName(m);
        a.textContent = `Download ${fileName(m)} (${label})`;
        box.append(a);
    }
    return box;
}

/** The open conversation's encryption setting and, in Signal mode, its safety number. */
function renderEncryption() {
    const setting = client.encryptionOf(shown);
    $('encryption').hidden = false;
    $('e2e-mode').value = setting.mode;
    $('e2e-key').hidden = $('e2e-mode').value !== 'shared';
    const state = $('e2e-state');
    state.dataset.mode = setting.mode;
    state.textContent = setting.mode === 'off' ? 'Not end-to-end encrypted'
        : setting.mode === 'shared' ? `End-to-end encrypted with shared key ${setting.keyId ?? ''}` : 'End-to-end encrypted (Signal)';
    const peer = shown;
    client.safetyNumber(peer).then((number) => {
        if (peer !== shown) {
            return;
        }
        const el = $('safety-number');
        el.hidden = !number;
        el.dataset.number = number ?? '';
        el.textContent = number ? `Safety number with ${peer}: ${number}` : '';
    }, (e) => console.warn('courier: no safety number:', e.message));
}

function show(peer) {
    shown = peer;
    client.watch([peer]);
    sessionStorage.setItem(SHOWN, peer);
    $('conversation-title').textContent = peer;
    renderPresence();
    $('composer').hidden = false;
    $('send-error').textContent = '';
    renderConversations();
    renderMessages();
    renderEncryption();
    $('messages').scrollTop = $('messages').scrollHeight;
    readIfSeen();
    $('compose').focus();
}

/** Read receipts only for what the user can see: the conversation on screen in a visible tab. */
function readIfSeen() {
    if (shown && document.visibilityState === 'visible') {
        client.markRead(shown).catch((e) => { $('send-error').textContent = e.message; });
    }
}

function wire() {
    $('signin-form').addEventListener('submit', (event) => {
        event.preventDefault();
        $('signin-error').textContent = '';
        signIn({ token: $('token').value, user: $('user').value, device: $('device').value })
            .catch((e) => { $('signin-error').textContent = e.message; });
    });
    $('new-conversation').addEventListener('submit', (event) => {
        event.preventDefault();
        const peer = $('peer').value.trim();
        if (!isUserId(peer)) {
            $('peer-error').textContent = `'${peer}' is not a user id: 1 to 64 of A-Z a-z 0-9 . _ -, not starting with '.'`;
            return;
        }
        $('peer-error').textContent = '';
        $('peer').value = '';
        show(peer);
    });
    $('composer').addEventListener('submit', (event) => {
        event.preventDefault();
        const text = $('compose').value;
        if (!text.trim() || !shown) {
            return;
        }
        $('compose').value = '';
        client.send(shown, text).then(() => renderStatus(), (e) => {
            $('compose').value = text;
            $('send-error').textContent = e.message;
        });
    });
    $('e2e-mode').addEventListener('change', () => { $('e2e-key').hidden = $('e2e-mode').value !== 'shared'; });
    $('encryption').addEventListener('submit', (event) => {
        event.preventDefault();
        $('e2e-error').textContent = '';
        client.setEncryption(shown, $('e2e-mode').value, $('e2e-key').value).then(() => {
            $('e2e-key').value = '';
            renderEncryption();
        }, (e) => { $('e2e-error').textContent = e.message; });
    });
    $('retry').addEventListener('click', () => client?.retryNow());
    $('signout').addEventListener('click', () => {
        sessionStorage.removeItem(CREDENTIALS);
        sessionStorage.removeItem(SHOWN);
        client?.close();
        location.reload();
    });
    document.addEventListener('visibilitychange', () => {
        readIfSeen();
        if (document.visibilityState === 'visible') {
            client?.retryNow();
        }
    });
    window.addEventListener('online', () => client?.retryNow());
}

function offlineCopy() {
    // A service worker needs a secure context: https, or http on localhost and 127.0.0.1.
    if (!('serviceWorker' in navigator) || !window.isSecureContext) {
        return;
    }
    navigator.serviceWorker.register('sw.js')
        .then(() => navigator.serviceWorker.ready)
        .then(() => { document.documentElement.dataset.offlineCopy = 'ready'; })
        .catch((e) => console.warn('courier: no offline copy of the page:', e.message));
}

wire();
offlineCopy();
const credentials = savedCredentials();
if (credentials) {
    $('token').value = credentials.token;
    $('user').value = credentials.user;
    $('device').value = credentials.device;
    signIn(credentials).catch((e) => { $('signin-error').textContent = e.message; });
}
