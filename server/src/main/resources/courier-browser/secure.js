// The page's end-to-end encryption state, in the `e2e` store of its IndexedDB (store.js), and what
// the client does with it (docs/E2E.md; the cryptography itself is e2e.js):
//   setting:<peer>   the conversation's mode: off (as without encryption), shared (a pre-shared
//                    256-bit key) or signal (X3DH and the Double Ratchet, per device);
//   identity, spk:<id>, opk:<id>, counters   this device's keys (private halves never leave it);
//   session:<user>/<device>   the Double Ratchet sessions with one remote device;
//   contact:<user>   the identity keys seen for each of a user's devices: the safety number, and
//                    the "safety number changed" notice when they change.
// Every change is staged by the operation that makes it and written by the caller in the same
// transaction as the message it belongs to; the copy here is updated only after that committed.

import * as e2e from './e2e.js';

export const ONE_TIME_PRE_KEYS_PER_BATCH = 100;
const SIGNED_PRE_KEY_DAYS = 7;
const OLD_SIGNED_PRE_KEY_DAYS = 30;
const DAY_MS = 86_400_000;

export function toBase64(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
        text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
}

export function fromBase64(text) {
    const raw = atob((text ?? '').replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** A shared key as typed on the page: 64 hex digits or the base64 of 32 bytes. */
export function parseSharedKey(text) {
    const t = (text ?? '').trim();
    let key = null;
    if (/^[0-9a-fA-F]{64}$/.test(t)) {
        key = e2e.fromHex(t);
    } else {
        try {
            key = fromBase64(t);
        } catch {
            key = null;
        }
    }
    if (!key || key.length !== 32) {
        throw new Error('A shared key is 32 bytes: 64 hex digits or 44 characters of base64');
    }
    return key;
}

/** Staged changes to the `e2e` store: puts by key, deletes, and what to tell the page once committed. */
export class Changes {
    constructor() {
        this.puts = new Map();
        this.deletes = new Set();
        this.notices = [];
    }

    put(record) {
        this.deletes.delete(record.k);
        this.puts.set(record.k, record);
    }

    delete(k) {
        this.puts.delete(k);
        this.deletes.add(k);
    }

    /** Writes them into the transaction's `e2e` store. */
    write(s) {
        this.puts.forEach((r) => s.e2e.put(r));
        this.deletes.forEach((k) => s.e2e.delete(k));
    }
}

export class Secure {
    static async load(store) {
        const secure = new Secure(store);
        for (const r of await store.all('e2e')) {
            secure.records.set(r.k, r);
        }
        await secure.ensureKeys();
        for (const r of secure.records.values()) {
            if (r.k.startsWith('setting:') && r.mode === 'shared') {
                secure.sharedKeys.set(e2e.hex(await e2e.SharedKeyCipher.keyId(r.key)), r.key);
            }
        }
        return secure;
    }

    constructor(store) {
        this.store = store;
        this.records = new Map();
        this.sharedKeys = new Map();
        this.entropy = e2e.Entropy.secure();
    }

    /** Looks a record up in the staged changes first, then in the committed copy. */
    get(k, changes) {
        if (changes?.deletes.has(k)) {
            return null;
        }
        return changes?.puts.get(k) ?? this.records.get(k) ?? null;
    }

    /** After the transaction that wrote `changes` committed. */
    applied(changes) {
        changes.puts.forEach((r, k) => this.records.set(k, r));
        changes.deletes.forEach((k) => this.records.delete(k));
    }

    async commit(changes) {
        await this.store.transaction(['e2e'], (s) => changes.write(s));
        this.applied(changes);
    }

    // ------------------------------------------------------------------ settings

    settingOf(peer) {
        const r = this.records.get(`setting:${peer}`);
        return r ? { mode: r.mode, keyId: r.key ? this.keyIdHex(r.key) : null } : { mode: 'off', keyId: null };
    }

    keyIdHex(key) {
        for (const [id, k] of this.sharedKeys) {
            if (k === key) {
                return id;
            }
        }
        return null;
    }

    async setSetting(peer, mode, keyText) {
        if (!['off', 'shared', 'signal'].includes(mode)) {
            throw new Error(`'${mode}' is not an encryption mode (off, shared, signal)`);
        }
        const record = { k: `setting:${peer}`, mode };
        if (mode === 'shared') {
            record.key = parseSharedKey(keyText);
        } else {
            const old = this.records.get(`setting:${peer}`);
            if (old?.key) {
                // Kept, so that messages already sent with it still decrypt.
                record.key = old.key;
            }
        }
        const changes = new Changes();
        changes.put(record);
        await this.commit(changes);
        if (record.key) {
            this.sharedKeys.set(e2e.hex(await e2e.SharedKeyCipher.keyId(record.key)), record.key);
        }
    }

    // ------------------------------------------------------------------ this device's keys

    async ensureKeys() {
        const changes = new Changes();
        const now = Date.now();
        if (!this.records.get('identity')) {
            const identity = await e2e.DeviceIdentity.generate(this.entropy);
            changes.put({ k: 'identity', identity, dhSignature: await e2e.DeviceIdentity.identityDhSignature(identity) });
            changes.put({ k: 'counters', nextSignedPreKeyId: 1, nextOneTimePreKeyId: 1, currentSignedPreKeyId: 0 });
        }
        const identity = this.get('identity', changes).identity;
        const counters = { ...this.get('counters', changes) };
        const current = this.get(`spk:${counters.currentSignedPreKeyId}`, changes);
        if (!current || now - current.spk.createdAtMs > SIGNED_PRE_KEY_DAYS * DAY_MS) {
            const id = counters.nextSignedPreKeyId;
            const spk = await e2e.SignedPreKey.generate(identity, id, now, this.entropy);
            changes.put({ k: `spk:${id}`, spk, published: false });
            counters.currentSignedPreKeyId = id;
            counters.nextSignedPreKeyId = id + 1;
            changes.put(counters);
        }
        for (const r of this.records.values()) {
            // Replaced signed pre-keys serve messages still on their way for 30 days more.
            if (r.k.startsWith('spk:') && r.spk.id !== counters.currentSignedPreKeyId
                && now - r.spk.createdAtMs > (SIGNED_PRE_KEY_DAYS + OLD_SIGNED_PRE_KEY_DAYS) * DAY_MS) {
                changes.delete(r.k);
            }
        }
        if (![...this.records.keys(), ...changes.puts.keys()].some((k) => k.startsWith('opk:'))) {
            await this.addOneTimePreKeys(changes);
        }
        if (changes.puts.size > 0 || changes.deletes.size > 0) {
            await this.commit(changes);
        }
    }

    async addOneTimePreKeys(changes) {
        const counters = { ...this.get('counters', changes) };
        for (let i = 0; i < ONE_TIME_PRE_KEYS_PER_BATCH; i++) {
            const opk = await e2e.OneTimePreKey.generate(counters.nextOneTimePreKeyId++, this.entropy);
            changes.put({ k: `opk:${opk.id}`, opk, published: false });
        }
        changes.put(counters);
    }

    get identity() {
        return this.records.get('identity').identity;
    }

    /** The KeyBundlePublish for this device (JSON mapping), with the one-time pre-keys not yet published. */
    publishFrame() {
        const identity = this.records.get('identity');
        const counters = this.records.get('counters');
        const spk = this.records.get(`spk:${counters.currentSignedPreKeyId}`).spk;
        const fresh = [...this.records.values()].filter((r) => r.k.startsWith('opk:') && !r.published);
        return {
            frame: {
                keyBundlePublish: {
                    identityKey: toBase64(identity.identity.signing.publicKey),
                    agreementKey: toBase64(spk.keys.publicKey),
                    signature: toBase64(spk.signature),
                    identityDhKey: toBase64(identity.identity.dh.publicKey),
                    identityDhSignature: toBase64(identity.dhSignature),
                    signedPreKeyId: spk.id,
                    oneTimePreKeys: fresh.map((r) => ({ id: r.opk.id, publicKey: toBase64(r.opk.keys.publicKey) })),
                },
            },
            keys: fresh.map((r) => r.k),
        };
    }

    /** The server took the publish: its one-time pre-keys are not sent again. */
    async published(keys) {
        const changes = new Changes();
        for (const k of keys) {
            const r = this.records.get(k);
            if (r && !r.published) {
                changes.put({ ...r, published: true });
            }
        }
        if (changes.puts.size > 0) {
            await this.commit(changes);
        }
    }

    /** PreKeysLow: another batch, to be published. */
    async replenish() {
        const changes = new Changes();
        await this.addOneTimePreKeys(changes);
        await this.commit(changes);
    }

    // ------------------------------------------------------------------ contacts and safety numbers

    /** The identity keys seen for `user`'s devices: {device: key}. */
    devicesOf(user, changes) {
        return this.get(`contact:${user}`, changes)?.devices ?? {};
    }

    /**
     * Records the identity keys of `user`'s devices (all of them when `complete`, else only these);
     * stages a "safety number changed" notice when a known device's key differs, or, with a
     * complete list, a device appeared or went after the user was first seen.
     */
    see(user, keys, changes, complete = false) {
        const before = this.get(`contact:${user}`, changes);
        const devices = { ...(before?.devices ?? {}) };
        let changed = false;
        for (const [device, key] of Object.entries(keys)) {
            if (devices[device] && !e2e.equal(devices[device], key)) {
                changed = true;
            } else if (!devices[device] && before) {
                changed = true;
            }
            devices[device] = key;
        }
        if (complete) {
            for (const device of Object.keys(devices)) {
                if (!(device in keys)) {
                    delete devices[device];
                    changed = true;
                }
            }
        }
        if (!before || changed || Object.keys(keys).some((d) => !before.devices[d])) {
            changes.put({ k: `contact:${user}`, devices });
        }
        if (changed && before && Object.keys(before.devices).length > 0) {
            changes.notices.push(user);
        }
        return changed;
    }

    /** The safety number with `peer` over the identity keys known of both sides, or null when none of theirs is. */
    async safetyNumber(me, myDevice, peer) {
        const theirs = Object.values(this.devicesOf(peer));
        if (theirs.length === 0) {
            return null;
        }
        const mine = { ...this.devicesOf(me), [myDevice]: this.identity.signing.publicKey };
        return e2e.SafetyNumber.of(me, Object.values(mine), peer, theirs);
    }

    // ------------------------------------------------------------------ encrypting

    async encryptShared(peer, conversation, plaintext) {
        const r = this.records.get(`setting:${peer}`);
        if (!r?.key) {
            throw new Error(`No shared key is set for the conversation with ${peer}`);
        }
        return e2e.SharedKeyCipher.encrypt(r.key, conversation, plaintext, this.entropy);
    }

    /**
     * One payload per target device ({user, device}); `bundles` maps "user/device" to a fetched
     * bundle for devices that need a new session. Resolves to [{device, payload}] and stages the
     * sessions; a device whose bundle is forged fails the whole send (FORGED_PRE_KEY).
     */
    async encryptForDevices(conversation, targets, bundles, plaintext, changes) {
        const out = [];
        for (const target of targets) {
            const address = `${target.user}/${target.device}`;
            let record = this.get(`session:${address}`, changes)?.record ?? null;
            const bundle = bundles.get(address);
            if (bundle) {
                record = await e2e.SessionRecord.initiate(this.identity, bundle, this.entropy, record);
            }
            const encrypted = await e2e.SessionRecord.encrypt(record, conversation, target, plaintext, this.entropy);
            changes.put({ k: `session:${address}`, record: encrypted.record });
            const copy = { device: { user: target.user, device: target.device }, payload: toBase64(encrypted.envelope) };
            // The identity key encrypted for: the server refuses the copy (STALE_DEVICES,
            // changedDevices) if the device has published another since, i.e. was reinstalled.
            const identityKey = e2e.SessionRecord.remoteIdentityKey(encrypted.record);
            if (identityKey) {
                copy.identityKey = toBase64(identityKey);
            }
            out.push(copy);
        }
        return out;
    }

    hasSession(user, device, changes) {
        return (this.get(`session:${user}/${device}`, changes)?.record?.sessions.length ?? 0) > 0;
    }

    sessionIdentity(user, device, changes) {
        return e2e.SessionRecord.remoteIdentityKey(this.get(`session:${user}/${device}`, changes)?.record ?? { sessions: [] });
    }

    // ------------------------------------------------------------------ decrypting

    /**
     * Decrypts one delivered envelope: {plain} (the decoded PlainMessage) or {reason} when it cannot
     * be, with the session changes, the used one-time pre-key's erasure and any notice staged.
     */
    async decrypt(conversation, me, myDevice, envelope, changes) {
        try {
            const type = e2e.envelopeType(envelope);
            let plaintext;
            if (type === 'SHARED_KEY') {
                plaintext = await e2e.SharedKeyCipher.decrypt(async (id) => this.sharedKeys.get(e2e.hex(id)) ?? null,
                    conversation, envelope);
            } else {
                const address = `${conversation.sender}/${conversation.senderDevice}`;
                const existing = this.get(`session:${address}`, changes)?.record ?? null;
                const lookup = {
                    signedPreKey: async (id) => this.get(`spk:${id}`, changes)?.spk ?? null,
                    oneTimePreKey: async (id) => this.get(`opk:${id}`, changes)?.opk ?? null,
                };
                const got = await e2e.SessionCipher.decrypt(this.identity, existing, lookup, conversation,
                    { user: me, device: myDevice }, envelope);
                changes.put({ k: `session:${address}`, record: got.record });
                if (got.usedOneTimePreKeyId != null) {
                    changes.delete(`opk:${got.usedOneTimePreKeyId}`);
                }
                this.see(conversation.sender, { [conversation.senderDevice]: got.senderIdentityKey }, changes);
                plaintext = got.plaintext;
            }
            return { plain: e2e.PlainMessage.decode(plaintext), type };
        } catch (e) {
            if (e instanceof e2e.E2eError) {
                return { reason: e.reason, detail: e.message };
            }
            return { reason: 'MALFORMED', detail: e.message };
        }
    }
}

/** A KeyBundles.Bundle (JSON mapping) as e2e.js takes it. */
export function bundleOf(user, b) {
    const bytes = (v) => fromBase64(v ?? '');
    return {
        user, device: b.device, identityKey: bytes(b.identityKey), identityDhKey: bytes(b.identityDhKey),
        identityDhSignature: bytes(b.identityDhSignature), signedPreKeyId: Number(b.signedPreKeyId ?? 0),
        signedPreKey: bytes(b.agreementKey), signedPreKeySignature: bytes(b.signature),
        oneTimePreKeyId: b.oneTimePreKey ? Number(b.oneTimePreKey.id ?? 0) : null,
        oneTimePreKey: b.oneTimePreKey ? bytes(b.oneTimePreKey.publicKey) : null,
    };
}
