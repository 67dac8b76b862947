// End-to-end encryption for the browser client, after docs/E2E.md, byte for byte, on WebCrypto
// alone (crypto.subtle: X25519, Ed25519, HKDF, HMAC, AES-GCM, AES-CBC, SHA-256/512). It has the
// shape of the Java SDK's io.courier.client.crypto, so that the two read what the other wrote:
//   - primitive wrappers over raw 32-byte keys (X25519, Ed25519, hkdf, hmacSha256, aead);
//   - shared-key mode (section 4.1), the Signal envelope (4.2), X3DH (5), the Double Ratchet (6);
//   - the plaintext codec with its padding (7), the media cipher (8), safety numbers (9);
//   - every failure is an E2eError whose `reason` is one of REASONS (section 10).
// Session records are plain objects of Uint8Arrays, numbers and arrays, so IndexedDB stores them
// as they are (structured clone). Nothing here talks to the network or the database: the caller
// stores what an operation returns, in the same transaction as the message it belongs to.

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();

export const REASONS = Object.freeze([
    'BAD_CIPHERTEXT', 'NO_KEY', 'NO_SESSION', 'ONE_TIME_PRE_KEY_REUSED', 'FORGED_PRE_KEY', 'BAD_KEY',
    'DUPLICATE_OR_EXPIRED', 'TOO_FAR_AHEAD', 'MALFORMED', 'UNSUPPORTED_VERSION', 'BAD_MEDIA',
]);

/** Every failure of this module: `reason` says which (docs/E2E.md section 10). */
export class E2eError extends Error {
    constructor(reason, message) {
        super(`${reason}: ${message}`);
        this.name = 'E2eError';
        this.reason = reason;
    }
}

function fail(reason, message) {
    throw new E2eError(reason, message);
}

export const VERSION = 0x01;
export const TYPE_SHARED_KEY = 0x01;
export const TYPE_SIGNAL = 0x02;
export const CONTENT_TYPE = 'application/vnd.courier.e2e';
export const MAX_SKIP = 1000;
export const MAX_STORED_SKIPPED = 2000;
export const MAX_SESSIONS = 5;
const PADDING_BLOCK = 160;
const FINGERPRINT_ITERATIONS = 5200;

// ------------------------------------------------------------------ bytes

export function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
        out.set(p, at);
        at += p.length;
    }
    return out;
}

export function be16(n) {
    return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

export function be32(n) {
    return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function be64(n) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(n));
    return out;
}

/** `str(s)`: be16 of the UTF-8 length, then the UTF-8 bytes. */
export function str(s) {
    const bytes = encoder.encode(s);
    if (bytes.length > 0xffff) {
        fail('MALFORMED', `a string of ${bytes.length} UTF-8 bytes does not fit str()'s 16-bit length`);
    }
    return concat(be16(bytes.length), bytes);
}

export function ascii(s) {
    return encoder.encode(s);
}

export function equal(a, b) {
    if (!a || !b || a.length !== b.length) {
        return false;
    }
    let diff = 0;
    for (let i = 0; i < a.length; i++) {
        diff |= a[i] ^ b[i];
    }
    return diff === 0;
}

export function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text) {
    if (text.length % 2 !== 0 || /[^0-9a-fA-F]/.test(text)) {
        throw new Error(`not hex: '${text.slice(0, 40)}'`);
    }
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) {
        out[i] = parseInt(text.substr(i * 2, 2), 16);
    }
    return out;
}

function base64url(text) {
    const raw = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

function compareBytes(a, b) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
        if (a[i] !== b[i]) {
            return a[i] - b[i];
        }
    }
    return a.length - b.length;
}

/** Reads the fields of a byte string in order; running off its end is MALFORMED. */
class Reader {
    constructor(bytes, what) {
        this.bytes = bytes;
        this.at = 0;
        this.what = what;
    }

    take(n) {
        if (this.at + n > this.bytes.length) {
            fail('MALFORMED', `${this.what} ends after ${this.bytes.length} bytes, inside a field`);
        }
        const out = this.bytes.subarray(this.at, this.at + n);
        this.at += n;
        return out;
    }

    u8() {
        return this.take(1)[0];
    }

    u32() {
        return new DataView(this.take(4).slice().buffer).getUint32(0);
    }

    u64() {
        const n = new DataView(this.take(8).slice().buffer).getBigUint64(0);
        if (n > BigInt(Number.MAX_SAFE_INTEGER)) {
            fail('MALFORMED', `${this.what} has a size of ${n} bytes`);
        }
        return Number(n);
    }

    str() {
        const bytes = this.take(new DataView(this.take(2).slice().buffer).getUint16(0));
        try {
            return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
            return fail('MALFORMED', `${this.what} has a string that is not UTF-8`);
        }
    }

    rest() {
        return this.take(this.bytes.length - this.at);
    }
}

// ------------------------------------------------------------------ entropy

/**
 * Where random bytes come from: `nextBytes(n)` returns n of them. The platform's generator in use;
 * a deterministic one in the known-answer tests, so that their outputs can be compared.
 */
export const Entropy = Object.freeze({
    secure() {
        return {
            nextBytes(n) {
                const out = new Uint8Array(n);
                for (let i = 0; i < n; i += 65536) {
                    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
                }
                return out;
            },
        };
    },
});

// ------------------------------------------------------------------ primitives

// WebCrypto imports X25519 and Ed25519 private keys only as PKCS #8 (or JWK); these are the DER
// prefixes of RFC 8410's OneAsymmetricKey for a 32-byte private key.
const PKCS8_X25519 = fromHex('302e020100300506032b656e04220420');
const PKCS8_ED25519 = fromHex('302e020100300506032b657004220420');

function rawKey(bytes, what) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
        fail('BAD_KEY', `${what} is ${bytes?.length ?? 'no'} bytes, not 32`);
    }
    return bytes;
}

async function importPrivate(algorithm, prefix, priv, usages, extractable = false) {
    try {
        return await subtle.importKey('pkcs8', concat(prefix, rawKey(priv, `an ${algorithm} private key`)),
            { name: algorithm }, extractable, usages);
    } catch (e) {
        if (e instanceof E2eError) {
            throw e;
        }
        return fail('BAD_KEY', `${algorithm} private key refused: ${e.message}`);
    }
}

async function publicFromPrivate(algorithm, prefix, priv, usages) {
    const key = await importPrivate(algorithm, prefix, priv, usages, true);
    return base64url((await subtle.exportKey('jwk', key)).x);
}

/** RFC 7748 X25519 over raw 32-byte keys (little-endian u-coordinates). */
export const X25519 = Object.freeze({
    async generate(entropy) {
        const privateKey = entropy.nextBytes(32);
        return { publicKey: await this.publicOf(privateKey), privateKey };
    },

    publicOf(priv) {
        return publicFromPrivate('X25519', PKCS8_X25519, priv, ['deriveBits']);
    },

    /** The shared secret; a low-order public key (an all-zero result) is BAD_KEY. */
    async agree(priv, pub) {
        const privateKey = await importPrivate('X25519', PKCS8_X25519, priv, ['deriveBits']);
        let out;
        try {
            const publicKey = await subtle.importKey('raw', rawKey(pub, 'an X25519 public key'), { name: 'X25519' }, false, []);
            out = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: publicKey }, privateKey, 256));
        } catch (e) {
            if (e instanceof E2eError) {
                throw e;
            }
            return fail('BAD_KEY', `X25519 with this public key failed (a low-order key?): ${e.message}`);
        }
        if (out.every((b) => b === 0)) {
            fail('BAD_KEY', 'X25519 gave all zeros: a low-order public key');
        }
        return out;
    },
});

/** RFC 8032 Ed25519 (pure) over raw keys: a 32-byte seed, a 32-byte public key, 64-byte signatures. */
export const Ed25519 = Object.freeze({
    async generate(entropy) {
        const privateKey = entropy.nextBytes(32);
        return { publicKey: await this.publicOf(privateKey), privateKey };
    },

    publicOf(priv) {
        return publicFromPrivate('Ed25519', PKCS8_ED25519, priv, ['sign']);
    },

    async sign(priv, message) {
        const key = await importPrivate('Ed25519', PKCS8_ED25519, priv, ['sign']);
        return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, message));
    },

    /** False for a bad signature and for a public key that is not a point (never throws for those). */
    async verify(pub, message, signature) {
        if (!(pub instanceof Uint8Array) || pub.length !== 32 || !(signature instanceof Uint8Array) || signature.length !== 64) {
            return false;
        }
        try {
            const key = await subtle.importKey('raw', pub, { name: 'Ed25519' }, false, ['verify']);
            return await subtle.verify({ name: 'Ed25519' }, key, signature, message);
        } catch {
            return false;
        }
    },
});

/** RFC 5869 HKDF with SHA-256. */
export async function hkdf(salt, ikm, info, length) {
    const key = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
    return new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, key, length * 8));
}

export async function hmacSha256(key, message) {
    const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await subtle.sign('HMAC', k, message));
}

export async function sha256(bytes) {
    return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

export async function sha512(bytes) {
    return new Uint8Array(await subtle.digest('SHA-512', bytes));
}

/** AES-GCM with a 96-bit nonce and the 128-bit tag appended; a tag that does not verify is BAD_CIPHERTEXT. */
export const Aead = Object.freeze({
    async seal(key, nonce, plaintext, ad) {
        const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
        return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: ad, tagLength: 128 }, k, plaintext));
    },

    async open(key, nonce, ciphertext, ad) {
        const k = await subtle.importKey('raw', key, 'AES-GCM', false, ['decrypt']);
        try {
            return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: ad, tagLength: 128 }, k, ciphertext));
        } catch {
            return fail('BAD_CIPHERTEXT', 'the AES-GCM tag does not verify (a changed byte, another conversation or message, a wrong key)');
        }
    },
});

// ------------------------------------------------------------------ addresses (section 3)

/** `conv`: the message a ciphertext belongs to. */
export function encodeConversation({ sender, senderDevice, recipient, clientMessageId }) {
    return concat(str(sender), str(senderDevice), str(recipient), str(clientMessageId));
}

/** `target`: the device a Signal-mode copy is for. */
export function encodeTarget({ user, device }) {
    return concat(str(user), str(device));
}

// ------------------------------------------------------------------ the envelope (section 4)

/** 'SHARED_KEY' or 'SIGNAL'; MALFORMED or UNSUPPORTED_VERSION otherwise. */
export function envelopeType(envelope) {
    if (!(envelope instanceof Uint8Array) || envelope.length < 2) {
        fail('MALFORMED', `an envelope of ${envelope?.length ?? 0} bytes`);
    }
    if (envelope[0] !== VERSION) {
        fail('UNSUPPORTED_VERSION', `envelope version ${envelope[0]}`);
    }
    if (envelope[1] === TYPE_SHARED_KEY) {
        return 'SHARED_KEY';
    }
    if (envelope[1] === TYPE_SIGNAL) {
        return 'SIGNAL';
    }
    return fail('UNSUPPORTED_VERSION', `envelope type ${envelope[1]}`);
}

// ------------------------------------------------------------------ shared-key mode (section 4.1)

export const SharedKeyCipher = Object.freeze({
    async keyId(key) {
        return (await sha256(concat(ascii('Courier-SK-id-v1'), rawKey(key, 'a shared key')))).slice(0, 8);
    },

    async encrypt(key, conversation, plaintext, entropy) {
        const keyId = await this.keyId(key);
        const nonce = entropy.nextBytes(12);
        const head = concat(Uint8Array.of(VERSION, TYPE_SHARED_KEY), keyId, nonce);
        const ad = concat(head, encodeConversation(conversation));
        return concat(head, await Aead.seal(key, nonce, plaintext, ad));
    },

    /** `keyById(keyId)` resolves to the key with that id, or null (then NO_KEY). */
    async decrypt(keyById, conversation, envelope) {
        if (envelopeType(envelope) !== 'SHARED_KEY') {
            fail('MALFORMED', 'a Signal envelope given to the shared-key cipher');
        }
        if (envelope.length < 2 + 8 + 12 + 16) {
            fail('MALFORMED', `a shared-key envelope of ${envelope.length} bytes is shorter than its header and tag`);
        }
        const keyId = envelope.subarray(2, 10);
        const nonce = envelope.subarray(10, 22);
        const key = await keyById(keyId);
        if (!key) {
            fail('NO_KEY', `no shared key with id ${hex(keyId)}`);
        }
        const ad = concat(envelope.subarray(0, 22), encodeConversation(conversation));
        return Aead.open(key, nonce, envelope.subarray(22), ad);
    },
});

// ------------------------------------------------------------------ plaintext (section 7)

/**
 * `{contentType, body, media}` where media is null or {mediaKey (64), blobSha256 (32), plainSize,
 * fileName, contentType}.
 */
export const PlainMessage = Object.freeze({
    encode({ contentType, body, media = null }) {
        const parts = [Uint8Array.of(0x01), str(contentType), be32(body.length), body];
        if (media) {
            if (media.mediaKey.length !== 64 || media.blobSha256.length !== 32) {
                fail('MALFORMED', 'a media key is 64 bytes and a blob digest 32');
            }
            parts.push(Uint8Array.of(0x01), media.mediaKey, media.blobSha256, be64(media.plainSize), str(media.fileName),
                str(media.contentType));
        } else {
            parts.push(Uint8Array.of(0x00));
        }
        const unpadded = concat(...parts);
        const padded = new Uint8Array(Math.ceil(unpadded.length / PADDING_BLOCK) * PADDING_BLOCK);
        padded.set(unpadded);
        return padded;
    },

    decode(bytes) {
        const r = new Reader(bytes, 'the plaintext');
        const version = r.u8();
        if (version !== 0x01) {
            fail('UNSUPPORTED_VERSION', `plaintext version ${version}`);
        }
        const contentType = r.str();
        const body = r.take(r.u32()).slice();
        const flag = r.u8();
        if (flag === 0x00) {
            return { contentType, body, media: null };
        }
        if (flag !== 0x01) {
            fail('MALFORMED', `media flag ${flag}`);
        }
        const media = {
            mediaKey: r.take(64).slice(), blobSha256: r.take(32).slice(), plainSize: r.u64(), fileName: r.str(),
            contentType: r.str(),
        };
        return { contentType, body, media };
    },
});

// ------------------------------------------------------------------ media (section 8)

export const MediaCipher = Object.freeze({
    /** Resolves to {blob, info}: the bytes to upload and what travels in the plaintext. */
    async encrypt(file, fileName, contentType, entropy) {
        const mediaKey = entropy.nextBytes(64);
        const iv = entropy.nextBytes(16);
        const aes = await subtle.importKey('raw', mediaKey.subarray(0, 32), 'AES-CBC', false, ['encrypt']);
        const body = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv }, aes, file));
        const mac = await hmacSha256(mediaKey.subarray(32), concat(iv, body));
        const blob = concat(iv, body, mac);
        return { blob, info: { mediaKey, blobSha256: await sha256(blob), plainSize: file.length, fileName, contentType } };
    },

    /** The file; BAD_MEDIA when the blob's digest, MAC, padding or size is wrong. */
    async decrypt(blob, info) {
        if (!equal(await sha256(blob), info.blobSha256)) {
            fail('BAD_MEDIA', 'the downloaded blob does not have the SHA-256 the message carries');
        }
        if (blob.length < 16 + 16 + 32 || (blob.length - 48) % 16 !== 0) {
            fail('BAD_MEDIA', `a media blob of ${blob.length} bytes`);
        }
        const iv = blob.subarray(0, 16);
        const body = blob.subarray(16, blob.length - 32);
        const macKey = await subtle.importKey('raw', info.mediaKey.subarray(32, 64), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
        if (!await subtle.verify('HMAC', macKey, blob.subarray(blob.length - 32), concat(iv, body))) {
            fail('BAD_MEDIA', 'the media blob\'s MAC does not verify');
        }
        const aes = await subtle.importKey('raw', info.mediaKey.subarray(0, 32), 'AES-CBC', false, ['decrypt']);
        let file;
        try {
            file = new Uint8Array(await subtle.decrypt({ name: 'AES-CBC', iv }, aes, body));
        } catch {
            return fail('BAD_MEDIA', 'the media blob\'s padding is wrong');
        }
        if (file.length !== info.plainSize) {
            fail('BAD_MEDIA', `the media file has ${file.length} bytes, the message says ${info.plainSize}`);
        }
        return file;
    },
});

// ------------------------------------------------------------------ safety numbers (section 9)

async function fingerprint(user, keys) {
    const sorted = concat(...[...keys].sort(compareBytes));
    let h = concat(be16(0), sorted, str(user));
    for (let i = 0; i < FINGERPRINT_ITERATIONS; i++) {
        h = await sha512(concat(h, sorted));
    }
    let digits = '';
    for (let i = 0; i < 30; i += 5) {
        let n = 0n;
        for (const b of h.subarray(i, i + 5)) {
            n = (n << 8n) | BigInt(b);
        }
        digits += String(n % 100000n).padStart(5, '0');
    }
    return digits;
}

export const SafetyNumber = Object.freeze({
    /** "12345 67890 …": 12 groups of 5 digits over both users' devices' Ed25519 identity keys. */
    async of(userA, keysA, userB, keysB) {
        const [a, b] = await Promise.all([fingerprint(userA, keysA), fingerprint(userB, keysB)]);
        const both = a < b ? a + b : b + a;
        return both.match(/\d{5}/g).join(' ');
    },
});

// ------------------------------------------------------------------ keys of a device (section 2)

const IKD_CONTEXT = ascii('Courier-IKD-v1');

/** `{signing: IKs, dh: IKd}`, each {publicKey, privateKey}. */
export const DeviceIdentity = Object.freeze({
    async generate(entropy) {
        const signing = await Ed25519.generate(entropy);
        const dh = await X25519.generate(entropy);
        return { signing, dh };
    },

    identityDhSignature(identity) {
        return Ed25519.sign(identity.signing.privateKey, concat(IKD_CONTEXT, identity.dh.publicKey));
    },
});

/** `{id, keys, signature, createdAtMs}`. */
export const SignedPreKey = Object.freeze({
    async generate(identity, id, nowMs, entropy) {
        const keys = await X25519.generate(entropy);
        return { id, keys, signature: await Ed25519.sign(identity.signing.privateKey, keys.publicKey), createdAtMs: nowMs };
    },
});

export const OneTimePreKey = Object.freeze({
    async generate(id, entropy) {
        return { id, keys: await X25519.generate(entropy) };
    },
});

/**
 * A fetched bundle: {user, device, identityKey, identityDhKey, identityDhSignature, signedPreKeyId,
 * signedPreKey, signedPreKeySignature, oneTimePreKeyId (or null), oneTimePreKey (or null)}.
 * FORGED_PRE_KEY unless both signatures verify with its identity key.
 */
export async function verifyBundle(bundle) {
    for (const [name, key] of [['identity key', bundle.identityKey], ['identity DH key', bundle.identityDhKey],
        ['signed pre-key', bundle.signedPreKey]]) {
        rawKey(key, `${bundle.user}/${bundle.device}'s ${name}`);
    }
    if (bundle.oneTimePreKey != null) {
        rawKey(bundle.oneTimePreKey, `${bundle.user}/${bundle.device}'s one-time pre-key`);
    }
    if (!await Ed25519.verify(bundle.identityKey, concat(IKD_CONTEXT, bundle.identityDhKey), bundle.identityDhSignature)) {
        fail('FORGED_PRE_KEY', `${bundle.user}/${bundle.device}'s identity DH key is not signed by its identity key`);
    }
    if (!await Ed25519.verify(bundle.identityKey, bundle.signedPreKey, bundle.signedPreKeySignature)) {
        fail('FORGED_PRE_KEY', `${bundle.user}/${bundle.device}'s signed pre-key is not signed by its identity key`);
    }
}

// ------------------------------------------------------------------ X3DH and the Double Ratchet (sections 5, 6)

const ZERO32 = new Uint8Array(32);
const FF32 = new Uint8Array(32).fill(0xff);
const X3DH_INFO = ascii('Courier-X3DH-v1');
const RATCHET_INFO = ascii('Courier-Ratchet-v1');
const MESSAGE_INFO = ascii('Courier-Message-v1');
const FLAG_X3DH = 0x01;
const FLAG_OPK = 0x02;
/**
 * Earlier receiving chains remembered per session (by the first 8 bytes of their ratchet key), so
 * that a replay into one of them is DUPLICATE_OR_EXPIRED rather than BAD_CIPHERTEXT.
 */
const OLD_RATCHET_KEYS = 2000;
const OLD_RATCHET_PREFIX = 8;

async function kdfRk(rk, dhOut) {
    const out = await hkdf(rk, dhOut, RATCHET_INFO, 64);
    return [out.slice(0, 32), out.slice(32)];
}

async function kdfCk(ck) {
    return [await hmacSha256(ck, Uint8Array.of(0x02)), await hmacSha256(ck, Uint8Array.of(0x01))];
}

async function messageKeys(mk) {
    const out = await hkdf(ZERO32, mk, MESSAGE_INFO, 44);
    return { key: out.slice(0, 32), nonce: out.slice(32) };
}

async function x3dhSecret(parts) {
    return hkdf(ZERO32, concat(FF32, ...parts), X3DH_INFO, 32);
}

function encodeHeader(h) {
    const parts = [];
    let flags = 0;
    if (h.x3dh) {
        flags |= FLAG_X3DH;
        parts.push(h.x3dh.identityKey, h.x3dh.identityDhKey, h.x3dh.identityDhSignature, h.x3dh.ephemeralKey,
            be32(h.x3dh.signedPreKeyId));
        if (h.x3dh.oneTimePreKeyId != null) {
            flags |= FLAG_OPK;
            parts.push(be32(h.x3dh.oneTimePreKeyId));
        }
    }
    return concat(Uint8Array.of(flags), ...parts, h.dh, be32(h.pn), be32(h.n));
}

/** A Signal envelope's parts: {header (bytes), x3dh or null, dh, pn, n, ciphertext}. */
export function parseSignalEnvelope(envelope) {
    if (envelopeType(envelope) !== 'SIGNAL') {
        fail('MALFORMED', 'a shared-key envelope given to the Signal cipher');
    }
    const r = new Reader(envelope.subarray(2), 'the Signal envelope');
    const flags = r.u8();
    if ((flags & ~(FLAG_X3DH | FLAG_OPK)) !== 0 || ((flags & FLAG_OPK) && !(flags & FLAG_X3DH))) {
        fail('MALFORMED', `header flags ${flags}`);
    }
    let x3dh = null;
    if (flags & FLAG_X3DH) {
        x3dh = {
            identityKey: r.take(32).slice(), identityDhKey: r.take(32).slice(), identityDhSignature: r.take(64).slice(),
            ephemeralKey: r.take(32).slice(),
            signedPreKeyId: r.u32(), oneTimePreKeyId: flags & FLAG_OPK ? r.u32() : null,
        };
    }
    const dh = r.take(32).slice();
    const pn = r.u32();
    const n = r.u32();
    const header = envelope.slice(2, 2 + r.at);
    const ciphertext = r.rest().slice();
    if (ciphertext.length < 16) {
        fail('MALFORMED', `a Signal ciphertext of ${ciphertext.length} bytes is shorter than its tag`);
    }
    return { header, x3dh, dh, pn, n, ciphertext };
}

function copyState(s) {
    return {
        ...s,
        skipped: s.skipped.map((k) => ({ ...k })),
        oldRatchetKeys: [...s.oldRatchetKeys],
        dhs: s.dhs ? { ...s.dhs } : null,
    };
}

async function skipTo(state, until) {
    if (until - state.nr > MAX_SKIP) {
        fail('TOO_FAR_AHEAD', `message ${until} is ${until - state.nr} ahead in its chain (at most ${MAX_SKIP} may be skipped)`);
    }
    if (!state.ckr) {
        return;
    }
    while (state.nr < until) {
        const [ck, mk] = await kdfCk(state.ckr);
        state.ckr = ck;
        state.skipped.push({ dh: state.dhr, n: state.nr, mk });
        state.nr++;
    }
    if (state.skipped.length > MAX_STORED_SKIPPED) {
        state.skipped.splice(0, state.skipped.length - MAX_STORED_SKIPPED);
    }
}

/** Decrypts one message in a copy of `state`; resolves to [plaintext, the copy] or throws, leaving `state` as it was. */
async function ratchetDecrypt(original, parsed, conversation, target) {
    const state = copyState(original);
    let mk;
    const skippedAt = state.skipped.findIndex((k) => k.n === parsed.n && equal(k.dh, parsed.dh));
    if (skippedAt >= 0) {
        mk = state.skipped[skippedAt].mk;
        state.skipped.splice(skippedAt, 1);
    } else {
        if (!state.dhr || !equal(parsed.dh, state.dhr)) {
            const prefix = parsed.dh.subarray(0, OLD_RATCHET_PREFIX);
            if (state.oldRatchetKeys.some((k) => equal(k, prefix))) {
                fail('DUPLICATE_OR_EXPIRED', `message ${parsed.n} of an earlier chain: its key was used or dropped`);
            }
            // A DH ratchet step: finish the current receiving chain, then a new one and a new sending chain.
            await skipTo(state, parsed.pn);
            if (state.dhr) {
                state.oldRatchetKeys = [...state.oldRatchetKeys, state.dhr.slice(0, OLD_RATCHET_PREFIX)].slice(-OLD_RATCHET_KEYS);
            }
            state.pn = state.ns;
            state.ns = 0;
            state.nr = 0;
            state.dhr = parsed.dh;
            if (!state.dhs) {
                // A second new ratchet key before this device sent on the first: not what a peer
                // following the protocol does, and nothing here can compute its chain.
                fail('BAD_CIPHERTEXT', 'a new ratchet key before this device answered the previous one');
            }
            [state.rk, state.ckr] = await kdfRk(state.rk, await X25519.agree(state.dhs.privateKey, state.dhr));
            // The new sending key pair is made when this device next sends (docs/E2E.md section 6),
            // so decrypting needs no randomness.
            state.dhs = null;
            state.cks = null;
        } else if (parsed.n < state.nr) {
            fail('DUPLICATE_OR_EXPIRED', `message ${parsed.n} of this chain: its key was used or dropped`);
        }
        await skipTo(state, parsed.n);
        const [ck, key] = await kdfCk(state.ckr);
        state.ckr = ck;
        state.nr++;
        mk = key;
    }
    const keys = await messageKeys(mk);
    const ad = concat(Uint8Array.of(VERSION, TYPE_SIGNAL), parsed.header, state.adx, encodeConversation(conversation),
        encodeTarget(target));
    const plaintext = await Aead.open(keys.key, keys.nonce, parsed.ciphertext, ad);
    // The initiator's x3dh part goes in every message until it has received one in this session.
    state.pendingX3dh = null;
    return [plaintext, state];
}

/**
 * The Double Ratchet sessions with one remote device: `{sessions: [state, …]}`, newest first, at most
 * MAX_SESSIONS. Every operation returns a new record and leaves the one given unchanged, so the
 * caller stores the new one with the message, or nothing when the operation failed.
 */
export const SessionRecord = Object.freeze({
    empty() {
        return { sessions: [] };
    },

    remoteIdentityKey(record) {
        return record.sessions[0]?.remoteIdentityKey ?? null;
    },

    /** Alice's side of X3DH with a fetched bundle (verified here first): a record with the new session first. */
    async initiate(ours, bundle, entropy, existing = null) {
        await verifyBundle(bundle);
        const ek = await X25519.generate(entropy);
        const parts = [
            await X25519.agree(ours.dh.privateKey, bundle.signedPreKey),
            await X25519.agree(ek.privateKey, bundle.identityDhKey),
            await X25519.agree(ek.privateKey, bundle.signedPreKey),
        ];
        if (bundle.oneTimePreKey != null) {
            parts.push(await X25519.agree(ek.privateKey, bundle.oneTimePreKey));
        }
        const sk = await x3dhSecret(parts);
        const dhs = await X25519.generate(entropy);
        const [rk, cks] = await kdfRk(sk, await X25519.agree(dhs.privateKey, bundle.signedPreKey));
        const state = {
            remoteIdentityKey: bundle.identityKey,
            remoteIdentityDhKey: bundle.identityDhKey,
            adx: concat(ours.signing.publicKey, ours.dh.publicKey, bundle.identityKey, bundle.identityDhKey),
            baseKey: ek.publicKey,
            pendingX3dh: {
                identityKey: ours.signing.publicKey, identityDhKey: ours.dh.publicKey, ephemeralKey: ek.publicKey,
                identityDhSignature: await DeviceIdentity.identityDhSignature(ours), signedPreKeyId: bundle.signedPreKeyId, oneTimePreKeyId: bundle.oneTimePreKey != null ? bundle.oneTimePreKeyId : null,
            },
            rk, cks, ckr: null, dhs, dhr: bundle.signedPreKey, ns: 0, nr: 0, pn: 0, skipped: [], oldRatchetKeys: [],
        };
        return { sessions: [state, ...(existing?.sessions ?? [])].slice(0, MAX_SESSIONS) };
    },

    /** Encrypts with the newest session: {envelope, record}. NO_SESSION when there is none. */
    async encrypt(record, conversation, target, plaintext, entropy) {
        if (!record || record.sessions.length === 0) {
            fail('NO_SESSION', `no session with ${target.user}/${target.device}`);
        }
        const state = copyState(record.sessions[0]);
        if (!state.dhs) {
            // The sending half of the DH ratchet step taken when the peer's new key arrived.
            state.dhs = await X25519.generate(entropy);
            [state.rk, state.cks] = await kdfRk(state.rk, await X25519.agree(state.dhs.privateKey, state.dhr));
        }
        const [ck, mk] = await kdfCk(state.cks);
        const header = encodeHeader({ x3dh: state.pendingX3dh, dh: state.dhs.publicKey, pn: state.pn, n: state.ns });
        state.cks = ck;
        state.ns++;
        const keys = await messageKeys(mk);
        const ad = concat(Uint8Array.of(VERSION, TYPE_SIGNAL), header, state.adx, encodeConversation(conversation),
            encodeTarget(target));
        const ciphertext = await Aead.seal(keys.key, keys.nonce, plaintext, ad);
        return {
            envelope: concat(Uint8Array.of(VERSION, TYPE_SIGNAL), header, ciphertext),
            record: { sessions: [state, ...record.sessions.slice(1)] },
        };
    },
});

/**
 * `lookup` has `signedPreKey(id)` and `oneTimePreKey(id)`, each resolving to the key (as made by
 * SignedPreKey/OneTimePreKey) or null.
 */
export const SessionCipher = Object.freeze({
    /**
     * Decrypts a Signal envelope for this device: {plaintext, record, usedOneTimePreKeyId (or null),
     * senderIdentityKey}. The caller erases the used one-time pre-key and stores the record in the
     * transaction that stores the message.
     */
    async decrypt(ours, existing, lookup, conversation, target, envelope) {
        const parsed = parseSignalEnvelope(envelope);
        const sessions = existing?.sessions ?? [];
        if (parsed.x3dh) {
            const at = sessions.findIndex((s) => equal(s.baseKey, parsed.x3dh.ephemeralKey));
            if (at >= 0) {
                return this.inSession(sessions, at, parsed, conversation, target);
            }
            const fresh = await respond(ours, parsed.x3dh, lookup);
            const [plaintext, state] = await ratchetDecrypt(fresh, parsed, conversation, target);
            return {
                plaintext, record: { sessions: [state, ...sessions].slice(0, MAX_SESSIONS) },
                usedOneTimePreKeyId: parsed.x3dh.oneTimePreKeyId, senderIdentityKey: state.remoteIdentityKey,
            };
        }
        if (sessions.length === 0) {
            fail('NO_SESSION', 'a ratchet message with no session and no X3DH header');
        }
        // Each session in turn, newest first; when none takes it, the first error that says more
        // than BAD_CIPHERTEXT (docs/E2E.md section 6).
        let telling = null;
        let bad = null;
        for (let at = 0; at < sessions.length; at++) {
            try {
                return await this.inSession(sessions, at, parsed, conversation, target);
            } catch (e) {
                if (!(e instanceof E2eError)) {
                    throw e;
                }
                if (e.reason === 'BAD_CIPHERTEXT') {
                    bad ??= e;
                } else {
                    telling ??= e;
                }
            }
        }
        throw telling ?? bad;
    },

    async inSession(sessions, at, parsed, conversation, target) {
        const [plaintext, state] = await ratchetDecrypt(sessions[at], parsed, conversation, target);
        const rest = sessions.filter((_, i) => i !== at);
        return {
            plaintext, record: { sessions: [state, ...rest] }, usedOneTimePreKeyId: null,
            senderIdentityKey: state.remoteIdentityKey,
        };
    },
});

/** Bob's side of X3DH from an x3dh header: the new session's state, before its first message. */
async function respond(ours, x3dh, lookup) {
    rawKey(x3dh.identityKey, 'the initiator\'s identity key');
    if (!await Ed25519.verify(x3dh.identityKey, concat(IKD_CONTEXT, x3dh.identityDhKey), x3dh.identityDhSignature)) {
        fail('FORGED_PRE_KEY', 'the X3DH header\'s identity DH key is not signed by its identity key');
    }
    const spk = await lookup.signedPreKey(x3dh.signedPreKeyId);
    if (!spk) {
        fail('NO_SESSION', `the X3DH header names signed pre-key ${x3dh.signedPreKeyId}, which this device no longer has`);
    }
    let opk = null;
    if (x3dh.oneTimePreKeyId != null) {
        opk = await lookup.oneTimePreKey(x3dh.oneTimePreKeyId);
        if (!opk) {
            fail('ONE_TIME_PRE_KEY_REUSED', `one-time pre-key ${x3dh.oneTimePreKeyId} was used already or never made`);
        }
    }
    const parts = [
        await X25519.agree(spk.keys.privateKey, x3dh.identityDhKey),
        await X25519.agree(ours.dh.privateKey, x3dh.ephemeralKey),
        await X25519.agree(spk.keys.privateKey, x3dh.ephemeralKey),
    ];
    if (opk) {
        parts.push(await X25519.agree(opk.keys.privateKey, x3dh.ephemeralKey));
    }
    return {
        remoteIdentityKey: x3dh.identityKey,
        remoteIdentityDhKey: x3dh.identityDhKey,
        adx: concat(x3dh.identityKey, x3dh.identityDhKey, ours.signing.publicKey, ours.dh.publicKey),
        baseKey: x3dh.ephemeralKey,
        pendingX3dh: null,
        rk: await x3dhSecret(parts), cks: null, ckr: null, dhs: { ...spk.keys }, dhr: null, ns: 0, nr: 0, pn: 0,
        skipped: [], oldRatchetKeys: [],
    };
}
