// The known-answer and behaviour checks of the page's e2e.js, run inside Chromium (e2e-kat.mjs adds
// this module to a page of the browser client, so that it imports the very file the server serves).
// `runChecks(rfc, courier)` resolves to [{name, ok, detail}]: every RFC vector, every Courier vector
// of the Java core's vectors.json when given, and the behaviours of docs/E2E.md (every error reason).

import * as e2e from './e2e.js';

const { fromHex, hex, concat, E2eError } = e2e;
const text = (s) => new TextEncoder().encode(s);

/** Deterministic entropy for the checks of behaviour here (not a vector format): xorshift32 from a seed. */
function counterEntropy(seed) {
    let x = [...seed].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 0x9e3779b9) || 1;
    return {
        nextBytes(n) {
            const out = new Uint8Array(n);
            for (let i = 0; i < n; i++) {
                x ^= x << 13;
                x ^= x >>> 17;
                x ^= x << 5;
                out[i] = x & 0xff;
            }
            return out;
        },
    };
}

/**
 * The Java core's vectors.json (client/src/test/resources/io/courier/client/crypto/vectors.json):
 * its RFC sections in its own format, and its 'courier' section, which this page cannot ignore:
 * a section these checks do not read fails, so that a vector is never passed over silently.
 */
async function checkCourierVectors(v, check, same, fails) {
    for (const t of v.hkdf ?? []) {
        await check(`vectors.json HKDF ${t.name}`, async () => same(await e2e.hkdf(fromHex(t.salt), fromHex(t.ikm), fromHex(t.info), t.length), t.okm, 'OKM'));
    }
    for (const t of v.x25519?.scalar_mult ?? []) {
        await check(`vectors.json X25519 ${t.name}`, async () => same(await e2e.X25519.agree(fromHex(t.scalar), fromHex(t.u)), t.output, 'output'));
    }
    for (const t of v.x25519?.diffie_hellman ?? []) {
        await check(`vectors.json X25519 ${t.name}`, async () => {
            same(await e2e.X25519.publicOf(fromHex(t.alice_private)), t.alice_public, 'alice public');
            same(await e2e.X25519.publicOf(fromHex(t.bob_private)), t.bob_public, 'bob public');
            same(await e2e.X25519.agree(fromHex(t.alice_private), fromHex(t.bob_public)), t.shared, 'alice shared');
            same(await e2e.X25519.agree(fromHex(t.bob_private), fromHex(t.alice_public)), t.shared, 'bob shared');
        });
    }
    for (const t of v.ed25519 ?? []) {
        await check(`vectors.json Ed25519 ${t.name}`, async () => {
            same(await e2e.Ed25519.publicOf(fromHex(t.seed)), t.public, 'public');
            same(await e2e.Ed25519.sign(fromHex(t.seed), fromHex(t.message)), t.signature, 'signature');
            if (!await e2e.Ed25519.verify(fromHex(t.public), fromHex(t.message), fromHex(t.signature))) {
                throw new Error('does not verify');
            }
        });
    }
    for (const t of v.aes_gcm ?? []) {
        await check(`vectors.json AES-GCM ${t.name}`, async () => {
            const sealed = await e2e.Aead.seal(fromHex(t.key), fromHex(t.nonce), fromHex(t.plaintext), fromHex(t.aad));
            same(sealed, t.ciphertext + t.tag, 'ciphertext || tag');
            same(await e2e.Aead.open(fromHex(t.key), fromHex(t.nonce), sealed, fromHex(t.aad)), t.plaintext, 'opened');
        });
    }
    if (v.courier) {
        await checkGoldenVectors(v.courier, check, same);
    }
    const known = new Set(['_comment', 'hkdf', 'x25519', 'ed25519', 'aes_gcm', 'courier']);
    for (const section of Object.keys(v).filter((k) => !known.has(k))) {
        await check(`vectors.json section '${section}'`, async () => {
            throw new Error(`vectors.json has a section '${section}' these checks do not read yet: teach e2e-checks.js to check it`);
        });
    }
}

/**
 * The Java core's Entropy.deterministic(seed): SHA256(seed || be64(i)) for i = 0, 1, …, handed out
 * in order. e2e.js asks for bytes synchronously, so the stream is made ahead (`blocks` of it).
 */
async function deterministicEntropy(seedHex, blocks = 64) {
    const seed = fromHex(seedHex);
    const parts = [];
    for (let i = 0; i < blocks; i++) {
        parts.push(new Uint8Array(await crypto.subtle.digest('SHA-256', concat(seed, e2e.be64(i)))));
    }
    const stream = concat(...parts);
    let at = 0;
    return {
        nextBytes(n) {
            if (at + n > stream.length) {
                throw new Error(`the deterministic entropy made ahead (${stream.length} bytes) ran out`);
            }
            const out = stream.slice(at, at + n);
            at += n;
            return out;
        },
    };
}

const conversationOf = (c) => ({ sender: c.sender, senderDevice: c.sender_device, recipient: c.recipient, clientMessageId: c.client_message_id });
const mediaOf = (m) => m && ({
    mediaKey: fromHex(m.media_key), blobSha256: fromHex(m.blob_sha256), plainSize: m.plain_size, fileName: m.file_name, contentType: m.content_type,
});

/** vectors.json's 'courier' section: e2e.js must make the very bytes the Java core made, and open them. */
async function checkGoldenVectors(c, check, same) {
    const known = new Set(['_comment', 'entropy', 'shared_key', 'plaintext', 'x3dh', 'safety_number', 'media']);
    if (c.entropy) {
        await check('vectors.json courier.entropy: the deterministic stream the scenarios take their bytes from', async () => {
            const entropy = await deterministicEntropy(c.entropy.seed);
            const bytes = fromHex(c.entropy.bytes);
            same(entropy.nextBytes(bytes.length), c.entropy.bytes, 'stream');
            same(new Uint8Array(await crypto.subtle.digest('SHA-256', concat(fromHex(c.entropy.seed), e2e.be64(0)))), c.entropy.first_block, 'first block');
        });
    }
    for (const section of Object.keys(c).filter((k) => !known.has(k))) {
        await check(`vectors.json courier.${section}`, async () => {
            throw new Error(`a Courier vector section '${section}' these checks do not read yet`);
        });
    }
    if (c.shared_key) {
        await check('vectors.json courier.shared_key: the same key, key id, conversation and envelope, and it opens', async () => {
            const t = c.shared_key;
            const entropy = await deterministicEntropy(t.seed);
            const key = entropy.nextBytes(32);
            same(key, t.key, 'key');
            same(await e2e.SharedKeyCipher.keyId(key), t.key_id, 'key id');
            const conversation = conversationOf(t.conversation);
            same(e2e.encodeConversation(conversation), t.conversation.encoded, 'conv');
            same(await e2e.SharedKeyCipher.encrypt(key, conversation, fromHex(t.plaintext), entropy), t.envelope, 'envelope');
            same(await e2e.SharedKeyCipher.decrypt(async (id) => (hex(id) === t.key_id ? key : null), conversation, fromHex(t.envelope)), t.plaintext, 'opened');
        });
    }
    for (const t of c.plaintext ?? []) {
        await check(`vectors.json courier.plaintext ${t.name}`, async () => {
            same(e2e.PlainMessage.encode({ contentType: t.content_type, body: fromHex(t.body), media: mediaOf(t.media) }), t.encoded, 'encoded');
            const d = e2e.PlainMessage.decode(fromHex(t.encoded));
            same(d.body, t.body, 'body');
            if (d.contentType !== t.content_type || JSON.stringify(d.media && { ...d.media, mediaKey: hex(d.media.mediaKey), blobSha256: hex(d.media.blobSha256) })
                !== JSON.stringify(t.media && { ...mediaOf(t.media), mediaKey: t.media.media_key, blobSha256: t.media.blob_sha256 })) {
                throw new Error(`decoded as ${d.contentType} ${JSON.stringify(d.media)}`);
            }
        });
    }
    if (c.x3dh) {
        await check('vectors.json courier.x3dh: the same keys, X3DH and every ratchet message both ways, each decrypted', async () => {
            const t = c.x3dh;
            const entropy = await deterministicEntropy(t.seed);
            const alice = await e2e.DeviceIdentity.generate(entropy);
            const bob = await e2e.DeviceIdentity.generate(entropy);
            for (const [name, id, v] of [['alice', alice, t.alice], ['bob', bob, t.bob]]) {
                same(id.signing.privateKey, v.iks_seed, `${name} IKs seed`);
                same(id.signing.publicKey, v.iks_public, `${name} IKs public`);
                same(id.dh.privateKey, v.ikd_private, `${name} IKd private`);
                same(id.dh.publicKey, v.ikd_public, `${name} IKd public`);
                same(await e2e.DeviceIdentity.identityDhSignature(id), v.identity_dh_signature, `${name} identity DH signature`);
            }
            const spk = await e2e.SignedPreKey.generate(bob, t.bob_signed_pre_key.id, t.bob_signed_pre_key.created_at_ms, entropy);
            same(spk.keys.privateKey, t.bob_signed_pre_key.private, 'signed pre-key private');
            same(spk.keys.publicKey, t.bob_signed_pre_key.public, 'signed pre-key public');
            same(spk.signature, t.bob_signed_pre_key.signature, 'signed pre-key signature');
            const opk = await e2e.OneTimePreKey.generate(t.bob_one_time_pre_key.id, entropy);
            same(opk.keys.privateKey, t.bob_one_time_pre_key.private, 'one-time pre-key private');
            same(opk.keys.publicKey, t.bob_one_time_pre_key.public, 'one-time pre-key public');
            const bundle = {
                user: 'bob', device: t.messages[0].target_device, identityKey: bob.signing.publicKey, identityDhKey: bob.dh.publicKey,
                identityDhSignature: await e2e.DeviceIdentity.identityDhSignature(bob), signedPreKeyId: spk.id, signedPreKey: spk.keys.publicKey,
                signedPreKeySignature: spk.signature, oneTimePreKeyId: opk.id, oneTimePreKey: opk.keys.publicKey,
            };
            let records = { alice: await e2e.SessionRecord.initiate(alice, bundle, entropy), bob: null };
            same(records.alice.sessions[0].baseKey, t.alice_ephemeral_public, 'EK_A public');
            same(records.alice.sessions[0].adx, t.ad, 'ADx');
            const devices = { alice, bob };
            const lookup = {
                signedPreKey: async (id) => (id === spk.id ? spk : null),
                oneTimePreKey: async (id) => (id === opk.id ? opk : null),
            };
            // In the order they happened: alice's three, bob decrypting them, bob's three, alice decrypting them.
            const bySender = (who) => t.messages.filter((m) => m.conversation.sender === who);
            for (const [from, to] of [['alice', 'bob'], ['bob', 'alice']]) {
                for (const m of bySender(from)) {
                    const conversation = conversationOf(m.conversation);
                    const target = { user: m.target_user, device: m.target_device };
                    same(e2e.encodeTarget(target), m.target_encoded, `target of ${m.conversation.client_message_id}`);
                    const out = await e2e.SessionRecord.encrypt(records[from], conversation, target, fromHex(m.plaintext), entropy);
                    same(out.envelope, m.envelope, `envelope ${m.conversation.client_message_id}`);
                    records[from] = out.record;
                }
                for (const m of bySender(from)) {
                    const got = await e2e.SessionCipher.decrypt(devices[to], records[to], lookup, conversationOf(m.conversation),
                        { user: m.target_user, device: m.target_device }, fromHex(m.envelope));
                    same(got.plaintext, m.plaintext, `decrypted ${m.conversation.client_message_id}`);
                    records[to] = got.record;
                }
            }
            return `${t.messages.length} messages`;
        });
    }
    if (c.safety_number) {
        await check('vectors.json courier.safety_number', async () => {
            const t = c.safety_number;
            same(await e2e.SafetyNumber.of(t.user_a, t.identity_keys_a.map(fromHex), t.user_b, t.identity_keys_b.map(fromHex)), t.safety_number, 'safety number');
            same(await e2e.SafetyNumber.of(t.user_b, t.identity_keys_b.map(fromHex), t.user_a, [...t.identity_keys_a].reverse().map(fromHex)), t.safety_number, 'from the other side');
        });
    }
    if (c.media) {
        await check('vectors.json courier.media: the same blob and key, and it opens', async () => {
            const t = c.media;
            const entropy = await deterministicEntropy(t.seed);
            const { blob, info } = await e2e.MediaCipher.encrypt(fromHex(t.file), t.media.file_name, t.media.content_type, entropy);
            same(blob, t.blob, 'blob');
            same(info.mediaKey, t.media.media_key, 'media key');
            same(info.blobSha256, t.media.blob_sha256, 'blob SHA-256');
            if (info.plainSize !== t.media.plain_size) {
                throw new Error(`plain size ${info.plainSize}`);
            }
            same(await e2e.MediaCipher.decrypt(fromHex(t.blob), mediaOf(t.media)), t.file, 'file');
        });
    }
}

export async function runChecks(rfc, courier) {
    const results = [];
    async function check(name, body) {
        try {
            const detail = await body();
            results.push({ name, ok: true, detail: detail ?? '' });
        } catch (e) {
            results.push({ name, ok: false, detail: e?.stack ?? String(e) });
        }
    }
    function same(actual, expected, what) {
        const a = typeof actual === 'string' ? actual : hex(actual);
        if (a !== expected) {
            throw new Error(`${what}: got ${a}, expected ${expected}`);
        }
    }
    async function fails(reason, body) {
        try {
            await body();
        } catch (e) {
            if (e instanceof E2eError && e.reason === reason) {
                return;
            }
            throw new Error(`expected ${reason}, got ${e?.reason ?? ''} ${e?.message ?? e}`);
        }
        throw new Error(`expected ${reason}, but it succeeded`);
    }

    // ------------------------------------------------------------ RFC vectors

    for (const v of rfc.hkdf) {
        await check(`HKDF ${v.name}`, async () => same(await e2e.hkdf(fromHex(v.salt), fromHex(v.ikm), fromHex(v.info), v.length), v.okm, 'OKM'));
    }
    for (const v of rfc.hmac) {
        await check(`HMAC-SHA-256 ${v.name}`, async () => same(await e2e.hmacSha256(fromHex(v.key), fromHex(v.message)), v.mac, 'MAC'));
    }
    for (const v of rfc.x25519) {
        await check(`X25519 ${v.name}`, async () => {
            same(await e2e.X25519.agree(fromHex(v.private), fromHex(v.public)), v.shared, 'shared secret');
            if (v.ownPublic) {
                same(await e2e.X25519.publicOf(fromHex(v.private)), v.ownPublic, 'public key');
            }
        });
    }
    for (const v of rfc.ed25519) {
        await check(`Ed25519 ${v.name}`, async () => {
            same(await e2e.Ed25519.publicOf(fromHex(v.private)), v.public, 'public key');
            same(await e2e.Ed25519.sign(fromHex(v.private), fromHex(v.message)), v.signature, 'signature');
            if (!await e2e.Ed25519.verify(fromHex(v.public), fromHex(v.message), fromHex(v.signature))) {
                throw new Error('the vector\'s signature does not verify');
            }
            const forged = fromHex(v.signature);
            forged[0] ^= 1;
            if (await e2e.Ed25519.verify(fromHex(v.public), fromHex(v.message), forged)) {
                throw new Error('a signature with a flipped bit verifies');
            }
        });
    }
    for (const v of rfc.aesGcm) {
        await check(`AES-GCM ${v.name}`, async () => {
            const sealed = await e2e.Aead.seal(fromHex(v.key), fromHex(v.nonce), fromHex(v.plaintext), fromHex(v.ad));
            same(sealed, v.ciphertext + v.tag, 'ciphertext || tag');
            same(await e2e.Aead.open(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.ad)), v.plaintext, 'opened');
            const flipped = sealed.slice();
            flipped[flipped.length - 1] ^= 1;
            await fails('BAD_CIPHERTEXT', () => e2e.Aead.open(fromHex(v.key), fromHex(v.nonce), flipped, fromHex(v.ad)));
        });
    }
    await check('X25519 refuses a low-order public key (RFC 7748: the all-zero output)', async () => {
        await fails('BAD_KEY', () => e2e.X25519.agree(fromHex(rfc.x25519[0].private), new Uint8Array(32)));
        await fails('BAD_KEY', () => e2e.X25519.agree(fromHex(rfc.x25519[0].private), new Uint8Array(31)));
    });

    // ------------------------------------------------------------ Courier vectors (the Java core's file)

    if (courier) {
        await checkCourierVectors(courier, check, same, fails);
    }

    // ------------------------------------------------------------ behaviour of docs/E2E.md

    const conv = { sender: 'alice', senderDevice: 'laptop', recipient: 'bob', clientMessageId: 'c-1' };
    const bobPhone = { user: 'bob', device: 'phone' };

    await check('plaintext: the fields of section 7, padded to a multiple of 160, decoded back', async () => {
        const body = text('héllo');
        const encoded = e2e.PlainMessage.encode({ contentType: 'text/plain', body });
        same(encoded.subarray(0, 1 + 2 + 10 + 4 + body.length + 1),
            hex(concat(Uint8Array.of(1), e2e.str('text/plain'), e2e.be32(body.length), body, Uint8Array.of(0))), 'fields');
        if (encoded.length !== 160 || encoded.subarray(24).some((b) => b !== 0)) {
            throw new Error(`padded to ${encoded.length} bytes`);
        }
        const exact = e2e.PlainMessage.encode({ contentType: '', body: new Uint8Array(160 - 8) });
        if (exact.length !== 160) {
            throw new Error(`a plaintext of exactly 160 bytes was padded to ${exact.length}`);
        }
        const decoded = e2e.PlainMessage.decode(encoded);
        same(decoded.body, hex(body), 'body');
        const media = { mediaKey: new Uint8Array(64).fill(7), blobSha256: new Uint8Array(32).fill(9), plainSize: 123456, fileName: 'ä.png', contentType: 'image/png' };
        const withMedia = e2e.PlainMessage.decode(e2e.PlainMessage.encode({ contentType: 'image/png', body: new Uint8Array(0), media }));
        if (withMedia.media.plainSize !== 123456 || withMedia.media.fileName !== 'ä.png' || hex(withMedia.media.mediaKey) !== hex(media.mediaKey)) {
            throw new Error(`media part decoded as ${JSON.stringify(withMedia.media)}`);
        }
        await fails('MALFORMED', () => e2e.PlainMessage.decode(encoded.subarray(0, 10)));
        await fails('UNSUPPORTED_VERSION', () => e2e.PlainMessage.decode(Uint8Array.of(2, 0, 0)));
    });

    await check('shared key: sealed and opened; every tampering case fails with its reason', async () => {
        const key = new Uint8Array(32).fill(0x42);
        const keyId = await e2e.SharedKeyCipher.keyId(key);
        same(keyId, hex((await e2e.sha256(concat(text('Courier-SK-id-v1'), key))).slice(0, 8)), 'key id');
        const entropy = counterEntropy('sk');
        const plaintext = e2e.PlainMessage.encode({ contentType: 'text/plain', body: text('secret') });
        const envelope = await e2e.SharedKeyCipher.encrypt(key, conv, plaintext, entropy);
        if (envelope[0] !== 1 || envelope[1] !== 1 || hex(envelope.subarray(2, 10)) !== hex(keyId)) {
            throw new Error(`envelope header ${hex(envelope.subarray(0, 22))}`);
        }
        const byId = async (id) => (hex(id) === hex(keyId) ? key : null);
        same(await e2e.SharedKeyCipher.decrypt(byId, conv, envelope), hex(plaintext), 'plaintext');
        const flipped = envelope.slice();
        flipped[30] ^= 0x10;
        await fails('BAD_CIPHERTEXT', () => e2e.SharedKeyCipher.decrypt(byId, conv, flipped));
        await fails('BAD_CIPHERTEXT', () => e2e.SharedKeyCipher.decrypt(byId, { ...conv, recipient: 'carol' }, envelope));
        await fails('BAD_CIPHERTEXT', () => e2e.SharedKeyCipher.decrypt(byId, { ...conv, clientMessageId: 'c-2' }, envelope));
        await fails('BAD_CIPHERTEXT', () => e2e.SharedKeyCipher.decrypt(async () => new Uint8Array(32).fill(1), conv, envelope));
        await fails('NO_KEY', () => e2e.SharedKeyCipher.decrypt(async () => null, conv, envelope));
        await fails('MALFORMED', () => e2e.SharedKeyCipher.decrypt(byId, conv, envelope.subarray(0, 30)));
        await fails('UNSUPPORTED_VERSION', () => e2e.SharedKeyCipher.decrypt(byId, conv, concat(Uint8Array.of(2), envelope.subarray(1))));
        await fails('UNSUPPORTED_VERSION', () => e2e.envelopeType(Uint8Array.of(1, 9, 0)));
        await fails('MALFORMED', () => e2e.envelopeType(Uint8Array.of(1)));
    });

    await check('X3DH and the Double Ratchet: out of order, replies, duplicates, restart from a stored record, every error', async () => {
        const entropy = counterEntropy('signal');
        const alice = await e2e.DeviceIdentity.generate(entropy);
        const bob = await e2e.DeviceIdentity.generate(entropy);
        const spk = await e2e.SignedPreKey.generate(bob, 7, Date.now(), entropy);
        const opk = await e2e.OneTimePreKey.generate(42, entropy);
        const bundle = {
            user: 'bob', device: 'phone', identityKey: bob.signing.publicKey, identityDhKey: bob.dh.publicKey,
            identityDhSignature: await e2e.DeviceIdentity.identityDhSignature(bob), signedPreKeyId: 7,
            signedPreKey: spk.keys.publicKey, signedPreKeySignature: spk.signature, oneTimePreKeyId: 42, oneTimePreKey: opk.keys.publicKey,
        };
        await fails('FORGED_PRE_KEY', () => e2e.SessionRecord.initiate(alice, { ...bundle, signedPreKey: opk.keys.publicKey }, entropy));
        await fails('FORGED_PRE_KEY', () => e2e.SessionRecord.initiate(alice, { ...bundle, identityDhKey: alice.dh.publicKey }, entropy));
        let aliceRecord = await e2e.SessionRecord.initiate(alice, bundle, entropy);
        const sent = [];
        for (let i = 0; i < 3; i++) {
            const c = { ...conv, clientMessageId: `m${i}` };
            const pt = e2e.PlainMessage.encode({ contentType: 'text/plain', body: text(`message ${i}`) });
            const out = await e2e.SessionRecord.encrypt(aliceRecord, c, bobPhone, pt, entropy);
            aliceRecord = out.record;
            sent.push({ c, envelope: out.envelope, pt });
        }
        if ((sent[0].envelope[2] & 3) !== 3) {
            throw new Error('the first message has no x3dh part with a one-time pre-key id');
        }
        const used = new Set();
        const lookup = {
            signedPreKey: async (id) => (id === 7 ? spk : null),
            oneTimePreKey: async (id) => (id === 42 && !used.has(id) ? opk : null),
        };
        // The last first: it starts the session, the others come from the skipped keys.
        let got = await e2e.SessionCipher.decrypt(bob, null, lookup, sent[2].c, bobPhone, sent[2].envelope);
        if (got.usedOneTimePreKeyId !== 42 || hex(got.senderIdentityKey) !== hex(alice.signing.publicKey)) {
            throw new Error(`used one-time pre-key ${got.usedOneTimePreKeyId}`);
        }
        same(got.plaintext, hex(sent[2].pt), 'message 2');
        used.add(42);
        // Stored and read back as IndexedDB would.
        let bobRecord = structuredClone(got.record);
        await fails('BAD_CIPHERTEXT', () => e2e.SessionCipher.decrypt(bob, bobRecord, lookup, sent[2].c, { user: 'bob', device: 'tablet' }, sent[0].envelope));
        for (const i of [0, 1]) {
            got = await e2e.SessionCipher.decrypt(bob, bobRecord, lookup, sent[i].c, bobPhone, sent[i].envelope);
            same(got.plaintext, hex(sent[i].pt), `message ${i}`);
            bobRecord = structuredClone(got.record);
        }
        await fails('DUPLICATE_OR_EXPIRED', () => e2e.SessionCipher.decrypt(bob, bobRecord, lookup, sent[1].c, bobPhone, sent[1].envelope));
        // Without the session, the same x3dh header names a one-time pre-key already used.
        await fails('ONE_TIME_PRE_KEY_REUSED', () => e2e.SessionCipher.decrypt(bob, null, lookup, sent[0].c, bobPhone, sent[0].envelope));
        await fails('NO_SESSION', () => e2e.SessionCipher.decrypt(bob, null, { ...lookup, signedPreKey: async () => null }, sent[0].c, bobPhone, sent[0].envelope));
        const forged = sent[0].envelope.slice();
        forged[3 + 32 + 32 + 5] ^= 1;
        await fails('FORGED_PRE_KEY', () => e2e.SessionCipher.decrypt(bob, null, lookup, sent[0].c, bobPhone, forged));
        // Bob replies; alice's next message has no x3dh part any more.
        const aliceLaptop = { user: 'alice', device: 'laptop' };
        const back = { sender: 'bob', senderDevice: 'phone', recipient: 'alice', clientMessageId: 'r1' };
        const reply = await e2e.SessionRecord.encrypt(bobRecord, back, aliceLaptop, text('reply'), entropy);
        bobRecord = reply.record;
        got = await e2e.SessionCipher.decrypt(alice, aliceRecord, lookup, back, aliceLaptop, reply.envelope);
        same(got.plaintext, hex(text('reply')), 'reply');
        aliceRecord = structuredClone(got.record);
        const next = await e2e.SessionRecord.encrypt(aliceRecord, { ...conv, clientMessageId: 'm3' }, bobPhone, text('after the reply'), entropy);
        if ((next.envelope[2] & 1) !== 0) {
            throw new Error('alice still sends the x3dh part after bob\'s reply');
        }
        aliceRecord = next.record;
        const flipped = next.envelope.slice();
        flipped[flipped.length - 3] ^= 4;
        await fails('BAD_CIPHERTEXT', () => e2e.SessionCipher.decrypt(bob, bobRecord, lookup, { ...conv, clientMessageId: 'm3' }, bobPhone, flipped));
        await fails('BAD_CIPHERTEXT', () => e2e.SessionCipher.decrypt(bob, bobRecord, lookup, { ...conv, clientMessageId: 'm4' }, bobPhone, next.envelope));
        got = await e2e.SessionCipher.decrypt(bob, bobRecord, lookup, { ...conv, clientMessageId: 'm3' }, bobPhone, next.envelope);
        same(got.plaintext, hex(text('after the reply')), 'm3');
        bobRecord = got.record;
        // A replay into an earlier receiving chain of the session.
        await fails('DUPLICATE_OR_EXPIRED', () => e2e.SessionCipher.decrypt(bob, bobRecord, lookup, sent[1].c, bobPhone, sent[1].envelope));
        // More than MAX_SKIP ahead in one chain.
        let far = aliceRecord;
        let last;
        for (let i = 0; i <= e2e.MAX_SKIP + 1; i++) {
            last = await e2e.SessionRecord.encrypt(far, { ...conv, clientMessageId: `f${i}` }, bobPhone, text('far'), entropy);
            far = last.record;
        }
        await fails('TOO_FAR_AHEAD', () => e2e.SessionCipher.decrypt(bob, bobRecord, lookup, { ...conv, clientMessageId: `f${e2e.MAX_SKIP + 1}` }, bobPhone, last.envelope));
        await fails('NO_SESSION', () => e2e.SessionCipher.decrypt(bob, null, lookup, conv, bobPhone, next.envelope));
        const lowOrder = { ...bundle, oneTimePreKey: new Uint8Array(32) };
        await fails('BAD_KEY', () => e2e.SessionRecord.initiate(alice, lowOrder, entropy));
        await fails('MALFORMED', () => e2e.SessionCipher.decrypt(bob, bobRecord, lookup, conv, bobPhone, next.envelope.subarray(0, 40)));
        return `${sent.length + 2} messages both ways, ${e2e.MAX_SKIP + 2} encrypted ahead`;
    });

    await check('media: AES-256-CBC and HMAC-SHA-256 blob, opened; a changed blob is BAD_MEDIA', async () => {
        const entropy = counterEntropy('media');
        const file = new Uint8Array(1000).map((_, i) => i * 7);
        const { blob, info } = await e2e.MediaCipher.encrypt(file, 'f.bin', 'application/octet-stream', entropy);
        if (blob.length !== 16 + 1008 + 32) {
            throw new Error(`blob of ${blob.length} bytes`);
        }
        same(await e2e.MediaCipher.decrypt(blob, info), hex(file), 'file');
        const changed = blob.slice();
        changed[20] ^= 1;
        await fails('BAD_MEDIA', () => e2e.MediaCipher.decrypt(changed, info));
        await fails('BAD_MEDIA', () => e2e.MediaCipher.decrypt(changed, { ...info, blobSha256: changed.length && new Uint8Array(0) }));
        const rehashed = { ...info, blobSha256: await e2e.sha256(changed) };
        await fails('BAD_MEDIA', () => e2e.MediaCipher.decrypt(changed, rehashed));
    });

    await check('safety number: 12 groups of 5 digits, the same from both sides, another when a key changes', async () => {
        const a = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(3)];
        const b = [new Uint8Array(32).fill(2)];
        const ab = await e2e.SafetyNumber.of('alice', a, 'bob', b);
        const ba = await e2e.SafetyNumber.of('bob', b, 'alice', [...a].reverse());
        if (!/^\d{5}( \d{5}){11}$/.test(ab) || ab !== ba) {
            throw new Error(`'${ab}' and '${ba}'`);
        }
        const changed = await e2e.SafetyNumber.of('alice', a, 'bob', [new Uint8Array(32).fill(4)]);
        if (changed === ab) {
            throw new Error('the same number after bob\'s key changed');
        }
        return ab;
    });

    return results;
}
