// The scenarios run over each transport, every step a claim of docs/PROTOCOL.md.

import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { encodeRecord, encodeVarint32, frameToJson, mintFirstFormatToken, mintToken } from './codec.mjs';
import { ProtocolError } from './connection.mjs';
import { JSON_TYPE, LongPollConnection, PROTOBUF_TYPE, SECRET_HEADER, readFrames, request } from './longpoll.mjs';
import { TcpConnection } from './tcp.mjs';
import { DATA, PING, REJECT, UdpConnection, header } from './udp.mjs';
import { JSON_TEXT, PROTO, WsConnection } from './ws.mjs';

const OFFLINE_MESSAGES = 50;

function check(condition, message) {
    if (!condition) {
        throw new ProtocolError(message);
    }
}

function equalBytes(a, b) {
    return Buffer.from(a).equals(Buffer.from(b));
}

/** Worked examples of the document, reproduced by this client's own code before any traffic. */
export async function selfChecks(ctx) {
    ctx.step('self-check', 'the tokens of PROTOCOL.md 1.12 are reproduced');
    const key = Buffer.from([...Array(32).keys()]);
    const times = { issuedMs: 4102358400000, expiresMs: 4102444800000 };
    check(mintToken({ keyId: 1, key }, 'alice', times)
        === 'v2:1:alice:*:4102358400000:4102444800000:dIjGOE0E5YF3kLnuZntsp8pbYAfITClz5Uhj9TMEamQ', 'alice token differs');
    check(mintToken({ keyId: 1, key }, 'bob', { device: 'phone', ...times })
        === 'v2:1:bob:phone:4102358400000:4102444800000:VjRK_YU80NsX2xoqYyR8kP4gwrX0ioPQgUFlAybBr7w', 'bob token differs');
    check(mintFirstFormatToken(key, 'alice', 4102444800) === 'alice:4102444800:zGaJgaNICafli5rfRcnSWdDzbgdiCLRF2BDHyxmejYI',
        'first-format alice token differs');
    ctx.pass();

    ctx.step('self-check', 'the bytes of PROTOCOL.md 3.1 and 3.4 are reproduced');
    check(encodeVarint32(2).toString('hex') === '02' && encodeVarint32(300).toString('hex') === 'ac02'
        && encodeVarint32(1052672).toString('hex') === '80a040', 'varint32 examples differ');
    const hello = encodeRecord({ requestId: '1', hello: { user: 'alice', token: mintFirstFormatToken(key, 'alice', 4102444800) } });
    check(hello.length === 74 && hello.subarray(0, 3).toString('hex') === '492a45' && hello.subarray(-2).toString('hex') === '7801',
        `hello record is ${hello.length} bytes ${hello.toString('hex')}`);
    const send = encodeRecord({ send: { clientMessageId: 'm1', recipient: 'bob', contentType: 'text/plain', payload: Buffer.from('hi') } });
    check(send.toString('hex') === '1b0a190a026d311203626f621a0a746578742f706c61696e22026869', `send record is ${send.toString('hex')}`);
    check(encodeRecord({ deliveryAck: { serverMessageIds: ['1'] } }).toString('hex') === '0512030a0101', 'delivery_ack record differs');
    check(encodeRecord({ heartbeat: {} }).toString('hex') === '022200', 'heartbeat record differs');
    ctx.pass();

    ctx.step('self-check', 'the JSON of PROTOCOL.md 2.2 is reproduced');
    const json = frameToJson({ send: { clientMessageId: 'm1', recipient: 'bob', contentType: 'text/plain', payload: Buffer.from('hi') } });
    check(json === '{"send":{"clientMessageId":"m1","recipient":"bob","contentType":"text/plain","payload":"aGk="}}', `send is ${json}`);
    check(frameToJson({ heartbeat: {} }) === '{"heartbeat":{}}', 'heartbeat JSON differs');
    ctx.pass();
}

/** Opens a connection of transport `name`; `label` names it in failures. */
function opener(name, ctx) {
    const { addresses: a, timeoutMs: t } = ctx;
    const opens = {
        tcp: (label) => TcpConnection.open(a.tcp.host, a.tcp.port, label, t),
        udp: (label) => UdpConnection.open(a.udp.host, a.udp.port, label, t),
        'ws-proto': (label) => WsConnection.open(a.ws, PROTO, label, t),
        'ws-json': (label) => WsConnection.open(a.ws, JSON_TEXT, label, t),
        'longpoll-json': (label) => LongPollConnection.open(a.longpoll, true, label, t),
        'longpoll-proto': (label) => LongPollConnection.open(a.longpoll, false, label, t),
    };
    return async (label) => ctx.track(await opens[name](label));
}

let requestIds = 100;

/** Connects, says hello and checks the welcome (section 1.4). */
async function hello(ctx, name, user) {
    const conn = await opener(name, ctx)(`${name} ${user}`);
    const requestId = String(++requestIds);
    const now = Date.now();
    const token = mintToken(ctx.signingKey, user, { issuedMs: now, expiresMs: now + 3_600_000 });
    if (!ctx.devices.has(user)) {
        ctx.devices.set(user, new Set());
    }
    // Before the hello: the pending inbox may come in the same read as the welcome.
    conn.storeInto(ctx.devices.get(user));
    await conn.send({ requestId, hello: { user, token, clientAgent: 'courier-interop-node/0.1' } });
    const frame = await conn.expect('welcome', (f) => f.body === 'welcome');
    const w = frame.welcome;
    check(frame.requestId === requestId, `welcome carries request_id ${frame.requestId}, the hello had ${requestId}`);
    check(w.sessionId.length > 0, 'welcome.session_id is empty');
    check(Math.abs(Number(w.serverTimeMs) - Date.now()) < 60_000, `welcome.server_time_ms ${w.serverTimeMs} is not the time now`);
    check(w.heartbeatIntervalMs > 0, `welcome.heartbeat_interval_ms is ${w.heartbeatIntervalMs}`);
    check(w.maxFrameBytes >= 1024, `welcome.max_frame_bytes is ${w.maxFrameBytes}`);
    check(w.user === user, `welcome.user is '${w.user}', not '${user}'`);
    check(w.device === '1', `welcome.device is '${w.device}', not the normalised '1'`);
    conn.welcome = w;
    conn.user = user;
    if (!(conn instanceof LongPollConnection)) {
        // On long polling the outstanding poll is the heartbeat (section 6.5).
        conn.keepAlive(w.heartbeatIntervalMs);
    }
    return conn;
}

function sendFrame(clientMessageId, recipient, payload, contentType = 'text/plain') {
    return { send: { clientMessageId, recipient, contentType, payload } };
}

function ack(...ids) {
    return { deliveryAck: { serverMessageIds: ids } };
}

/** Sends and waits for the single tick; returns the Accepted. */
async function sendAccepted(conn, clientMessageId, recipient, payload) {
    await conn.send(sendFrame(clientMessageId, recipient, payload));
    const a = await conn.expectBody('accepted', (x) => x.clientMessageId === clientMessageId, `accepted for ${clientMessageId}`);
    check(BigInt(a.serverMessageId) > 0n, `accepted ${clientMessageId} has server_message_id ${a.serverMessageId}`);
    check(Number(a.acceptedAtMs) > 0, `accepted ${clientMessageId} has accepted_at_ms ${a.acceptedAtMs}`);
    return a;
}

/** The recipient's deliver of an accepted message, checked field by field (section 1.6). */
async function expectDeliver(conn, accepted, from, to, payload) {
    const d = await conn.expectBody('deliver', (x) => x.serverMessageId === accepted.serverMessageId,
        `deliver of ${accepted.clientMessageId} (server id ${accepted.serverMessageId})`);
    check(d.sender === from && d.senderDevice === '1', `deliver is from ${d.sender}/${d.senderDevice}, not ${from}/1`);
    check(d.recipient === to, `deliver.recipient is ${d.recipient}, not ${to}`);
    check(d.clientMessageId === accepted.clientMessageId, `deliver.client_message_id is ${d.clientMessageId}`);
    check(d.acceptedAtMs === accepted.acceptedAtMs, `deliver.accepted_at_ms ${d.acceptedAtMs} is not the accepted's ${accepted.acceptedAtMs}`);
    check(d.contentType === 'text/plain', `deliver.content_type is '${d.contentType}'`);
    check(equalBytes(d.payload, payload), `deliver.payload (${d.payload.length} bytes) is not what was sent (${payload.length} bytes)`);
    return d;
}

/** The sender's receipt for a message, checked and acknowledged (section 1.6). */
async function expectReceipt(conn, status, accepted, byUser) {
    const r = await conn.expectBody('receipt', (x) => x.status === status && x.messageServerId === accepted.serverMessageId,
        `receipt ${status} for ${accepted.clientMessageId}`);
    check(BigInt(r.serverMessageId) > BigInt(accepted.serverMessageId), `receipt id ${r.serverMessageId} is not above its message's ${accepted.serverMessageId}`);
    check(r.messageClientId === accepted.clientMessageId, `receipt.message_client_id is ${r.messageClientId}`);
    check(r.byUser === byUser && r.byDevice === '1', `receipt is by ${r.byUser}/${r.byDevice}, not ${byUser}/1`);
    check(Number(r.atMs) > 0, `receipt.at_ms is ${r.atMs}`);
    await conn.send(ack(r.serverMessageId));
    return r;
}

/**
 * Proves that nothing is pending for `user` without waiting for silence: reconnect, send to
 * oneself, and the first new inbox entry written must be that message, since pending entries
 * (lower ids) are written before it (section 1.7). Entries the device already has may be written
 * again when their acknowledgement was sent just before the previous connection closed; they are
 * acknowledged again, and the `accepted` of a later send (to a user who never connects) shows that
 * those acknowledgements are recorded, so the next connection must then be clean.
 */
async function expectNothingPending(ctx, name, user) {
    const rewritten = [];
    for (let attempt = 1; attempt <= 2; attempt++) {
        const conn = await hello(ctx, name, user);
        const marker = `nothing-pending-${attempt}-${ctx.run}`;
        await conn.send(sendFrame(marker, user, Buffer.from('marker')));
        const first = await conn.expect('the first inbox entry', (f) => f.body === 'deliver' || f.body === 'receipt');
        const entry = first[first.body];
        check(first.body === 'deliver' && entry.clientMessageId === marker,
            `${user} still had ${first.body} ${entry.serverMessageId} pending (${entry.clientMessageId || entry.messageClientId})`);
        await conn.expectBody('accepted', (a) => a.clientMessageId === marker, `accepted for ${marker}`);
        await conn.send(ack(first.deliver.serverMessageId));
        await sendAccepted(conn, `recorded-${attempt}`, `sink-${ctx.run}`, Buffer.from('after the acks'));
        conn.assertNothingElse();
        await conn.close();
        if (conn.rewritten.length === 0) {
            return rewritten;
        }
        rewritten.push(...conn.rewritten);
        if (attempt === 2) {
            throw new ProtocolError(`${user}: entries ${conn.rewritten.join(', ')} were written again although the previous `
                + 'connection acknowledged them and then had a later send accepted (PROTOCOL.md 1.7)');
        }
    }
    return rewritten;
}

export function scenarioFor(name) {
    return async (ctx) => {
        const users = {
            alice: `alice-${name}-${ctx.run}`,
            bob: `bob-${name}-${ctx.run}`,
            carol: `carol-${name}-${ctx.run}`,
            eve: `eve-${name}-${ctx.run}`,
        };
        await conversation(ctx, name, users);
        await offlineDrain(ctx, name, users);
        await badInput[name](ctx, name, users);
        ctx.step(name, 'reconnected, nobody has anything pending: every ack and receipt ack was taken');
        const notes = [];
        for (const user of [users.alice, users.bob, users.carol]) {
            const rewritten = await expectNothingPending(ctx, name, user);
            if (rewritten.length > 0) {
                notes.push(`${user.split('-')[0]}: ${rewritten.length} entr${rewritten.length === 1 ? 'y' : 'ies'} acknowledged right before a close `
                    + 'written once more and acknowledged again');
            }
        }
        ctx.pass(notes.join('; '));
    };
}

async function conversation(ctx, name, { alice: aliceName, bob: bobName }) {
    ctx.step(name, 'hello -> welcome with every documented field, request_id echoed');
    const alice = await hello(ctx, name, aliceName);
    const bob = await hello(ctx, name, bobName);
    ctx.pass(`session ${alice.welcome.sessionId}, heartbeat ${alice.welcome.heartbeatIntervalMs} ms, max frame ${alice.welcome.maxFrameBytes}`);

    ctx.step(name, 'alice sends -> accepted (single tick)');
    const text = Buffer.from(`hello bob, over ${name}`);
    const m1 = await sendAccepted(alice, 'm1', bobName, text);
    ctx.pass(`server id ${m1.serverMessageId}`);

    ctx.step(name, 'bob gets the deliver, every field as sent');
    await expectDeliver(bob, m1, aliceName, bobName, text);
    ctx.pass();

    ctx.step(name, 'bob acks -> alice gets receipt DELIVERED (double tick) and acks it');
    await bob.send(ack(m1.serverMessageId));
    const delivered = await expectReceipt(alice, 'DELIVERED', m1, bobName);
    ctx.pass(`receipt id ${delivered.serverMessageId}`);

    ctx.step(name, 'bob sends a read receipt -> alice gets receipt READ (blue tick) and acks it');
    await bob.send({ readReceipt: { serverMessageIds: [m1.serverMessageId] } });
    const read = await expectReceipt(alice, 'READ', m1, bobName);
    check(BigInt(read.serverMessageId) > BigInt(delivered.serverMessageId), 'READ came before DELIVERED');
    ctx.pass(`receipt id ${read.serverMessageId}`);

    ctx.step(name, 'a 5,000-byte payload crosses intact and is acknowledged');
    const big = randomBytes(5000);
    if (name === 'udp') {
        // A lossy link in both directions: our second fragment's first copy and the first copy of
        // the server's second fragment are lost, so each side must retransmit on its timer.
        let skipOut = alice.nextSequence + 1;
        alice.dropOutgoing = (entry) => entry.sequence === skipOut && entry.transmissions === 1 && (skipOut = -1, true);
        let skipIn = true;
        bob.dropIncoming = (d) => d.readUInt16BE(13) === 1 && d.readUInt16BE(15) > 1 && skipIn && !(skipIn = false);
    }
    const m2 = await sendAccepted(alice, 'm2', bobName, big);
    await expectDeliver(bob, m2, aliceName, bobName, big);
    await bob.send(ack(m2.serverMessageId));
    await expectReceipt(alice, 'DELIVERED', m2, bobName);
    if (name === 'udp') {
        check(alice.stats.droppedOut === 1 && alice.stats.retransmissions >= 1, `alice: ${JSON.stringify(alice.stats)}`);
        check(bob.stats.droppedIn === 1, `bob: ${JSON.stringify(bob.stats)}`);
        ctx.pass(`5 fragments each way; one lost each way and retransmitted: alice ${alice.stats.retransmissions} retransmission(s), RTO ${Math.round(alice.rtoMs)} ms`);
    } else {
        ctx.pass();
    }

    ctx.step(name, 'nothing else arrived on either connection');
    alice.assertNothingElse();
    bob.assertNothingElse();
    await alice.close();
    await bob.close();
    ctx.pass();
}

async function offlineDrain(ctx, name, { alice: aliceName, carol: carolName }) {
    ctx.step(name, `alice sends ${OFFLINE_MESSAGES} messages to carol, who never connected -> ${OFFLINE_MESSAGES} accepted, ids increasing`);
    const alice = await hello(ctx, name, aliceName);
    const ids = [];
    const payload = (i) => Buffer.from(`offline ${i}`);
    const clientId = (i) => `d${String(i).padStart(2, '0')}`;
    await Promise.all(Array.from({ length: OFFLINE_MESSAGES }, (_, i) => alice.send(sendFrame(clientId(i + 1), carolName, payload(i + 1)))));
    const accepted = [];
    for (let i = 1; i <= OFFLINE_MESSAGES; i++) {
        const a = await alice.expectBody('accepted', (x) => x.clientMessageId === clientId(i), `accepted for ${clientId(i)}`);
        check(ids.length === 0 || BigInt(a.serverMessageId) > BigInt(ids.at(-1)), `${clientId(i)} got server id ${a.serverMessageId}, not above ${ids.at(-1)}`);
        ids.push(a.serverMessageId);
        accepted.push(a);
    }
    ctx.pass(`ids ${ids[0]}..${ids.at(-1)}`);

    ctx.step(name, `carol connects and receives all ${OFFLINE_MESSAGES} in order, acknowledging each`);
    const carol = await hello(ctx, name, carolName);
    const acks = [];
    for (let i = 0; i < OFFLINE_MESSAGES; i++) {
        const f = await carol.expect(`deliver ${i + 1} of ${OFFLINE_MESSAGES}`, (x) => x.body === 'deliver');
        const d = f.deliver;
        check(d.serverMessageId === ids[i] && d.clientMessageId === clientId(i + 1),
            `deliver ${i + 1} is ${d.clientMessageId} (server id ${d.serverMessageId}), expected ${clientId(i + 1)} (${ids[i]})`);
        check(equalBytes(d.payload, payload(i + 1)) && d.sender === aliceName, `deliver ${d.clientMessageId} differs from what was sent`);
        acks.push(carol.send(ack(d.serverMessageId)));
    }
    await Promise.all(acks);
    ctx.pass();

    ctx.step(name, `alice gets ${OFFLINE_MESSAGES} receipts DELIVERED and acknowledges them in one frame`);
    const receiptIds = [];
    for (const a of accepted) {
        const r = await alice.expectBody('receipt', (x) => x.status === 'DELIVERED' && x.messageServerId === a.serverMessageId,
            `receipt DELIVERED for ${a.clientMessageId}`);
        check(r.byUser === carolName, `receipt for ${a.clientMessageId} is by ${r.byUser}`);
        receiptIds.push(r.serverMessageId);
    }
    await alice.send(ack(...receiptIds));
    alice.assertNothingElse();
    carol.assertNothingElse();
    await alice.close();
    await carol.close();
    ctx.pass();
}

/** A send whose JSON carries fields this schema does not have, in the body and the envelope. */
function jsonWithUnknownFields(clientMessageId, recipient) {
    return `{"send":{"clientMessageId":"${clientMessageId}","recipient":"${recipient}","contentType":"text/plain",`
        + `"payload":"aGk=","futureField":{"nested":[1,2]}},"futureEnvelope":"ignored","requestId":"9"}`;
}

/** Section 2.2: unknown fields are ignored; the frame is accepted and delivered. */
async function expectUnknownFieldsIgnored(ctx, name, user, post) {
    ctx.step(name, 'a JSON frame with unknown fields is accepted, the fields ignored');
    const conn = await hello(ctx, name, user);
    await post(conn, jsonWithUnknownFields('u1', user));
    const a = await conn.expectBody('accepted', (x) => x.clientMessageId === 'u1', 'accepted for u1 (with unknown fields)');
    const d = await expectDeliver(conn, a, user, user, Buffer.from('hi'));
    await conn.send(ack(d.serverMessageId));
    conn.assertNothingElse();
    ctx.pass();
    return conn;
}

const badInput = {
    async tcp(ctx, name) {
        ctx.step(name, 'a length prefix above max_frame_bytes -> FRAME_TOO_LARGE, then end of stream');
        const conn = await opener(name, ctx)(`${name} oversized prefix`);
        const declared = 2 ** 31 + 1;
        await conn.writeBytes(encodeVarint32(declared));
        const e = await conn.expectError('FRAME_TOO_LARGE');
        check(e.fatal === true, 'FRAME_TOO_LARGE is not marked fatal');
        check(e.text.includes(String(declared)), `the text does not name the declared length: ${e.text}`);
        const closed = await conn.expectClosed('FRAME_TOO_LARGE');
        check(closed.endOfStream === true, `the server did not shut down its side: ${closed.reason}`);
        conn.assertNothingElse();
        await conn.close();
        ctx.pass(`"${e.text}"`);
    },

    async udp(ctx, name) {
        ctx.step(name, 'datagrams with an unknown connection id -> REJECT no larger than each');
        const socket = dgram.createSocket('udp4');
        await new Promise((resolve) => socket.connect(ctx.addresses.udp.port, ctx.addresses.udp.host, resolve));
        const rejects = [];
        let wake = () => {};
        socket.on('message', (d) => {
            rejects.push(d);
            wake();
        });
        const nextReject = (what) => new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new ProtocolError(`udp: no REJECT for ${what} within ${ctx.timeoutMs} ms`)), ctx.timeoutMs);
            wake = () => {
                clearTimeout(timer);
                resolve(rejects.shift());
            };
            if (rejects.length > 0) {
                wake();
            }
        });
        try {
            const id = randomBytes(8);
            id[0] &= 0x7f;
            const ping = header(PING, id);
            socket.send(ping);
            const r1 = await nextReject('a 9-byte PING');
            check(r1[0] === REJECT && r1.subarray(1, 9).equals(id), `the answer to a PING is ${r1.toString('hex')}`);
            check(r1.length <= ping.length, `REJECT of ${r1.length} bytes for a ${ping.length}-byte PING`);

            const data = header(DATA, id, 8 + 23);
            data.writeUInt32BE(1, 9);
            data.writeUInt16BE(0, 13);
            data.writeUInt16BE(1, 15);
            socket.send(data);
            const r2 = await nextReject(`a ${data.length}-byte DATA`);
            check(r2[0] === REJECT && r2.subarray(1, 9).equals(id), `the answer to a DATA is ${r2.toString('hex')}`);
            check(r2.length <= data.length, `REJECT of ${r2.length} bytes for a ${data.length}-byte DATA`);
            const reason = r2.subarray(9).toString('utf8');
            check(reason.length > 0 && 'Unknown connection id '.startsWith(reason.slice(0, 22)), `REJECT reason '${reason}'`);
            ctx.pass(`${r1.length} bytes for the PING, ${r2.length} for the ${data.length}-byte DATA: "${reason}"`);
        } finally {
            socket.close();
        }
    },

    async 'ws-proto'(ctx, name, { eve }) {
        ctx.step(name, 'a text message on courier.v1.proto -> PROTOCOL_VIOLATION, then close 1008');
        const conn = await hello(ctx, name, eve);
        await conn.writeRaw('{"heartbeat":{}}', false);
        const e = await conn.expectError('PROTOCOL_VIOLATION');
        check(e.fatal === true, 'PROTOCOL_VIOLATION is not marked fatal');
        const closed = await conn.expectClosed('PROTOCOL_VIOLATION');
        check(closed.code === 1008 && closed.text === 'courier error', `closed with ${closed.reason}`);
        ctx.pass(`"${e.text}", ${closed.reason}`);
    },

    async 'ws-json'(ctx, name, { eve }) {
        ctx.step(name, 'malformed JSON -> MALFORMED_FRAME, then close 1008');
        const conn = await hello(ctx, name, eve);
        await conn.writeRaw('{"heartbeat":{', false);
        const e = await conn.expectError('MALFORMED_FRAME');
        check(e.fatal === true, 'MALFORMED_FRAME is not marked fatal');
        const closed = await conn.expectClosed('MALFORMED_FRAME');
        check(closed.code === 1008 && closed.text === 'courier error', `closed with ${closed.reason}`);
        ctx.pass(`"${e.text}", ${closed.reason}`);

        const c = await expectUnknownFieldsIgnored(ctx, name, eve, (ws, text) => ws.writeRaw(text, false));
        await c.close();
    },

    async 'longpoll-json'(ctx, name, { eve }) {
        await unknownSession(ctx, name, true);
        await sessionNeedsItsSecret(ctx, name, eve, true);
        const c = await expectUnknownFieldsIgnored(ctx, name, eve, (lp, text) => lp.postBody(`[${text}]`, JSON_TYPE));
        await c.close();
    },

    async 'longpoll-proto'(ctx, name, { eve }) {
        await unknownSession(ctx, name, false);
        await sessionNeedsItsSecret(ctx, name, eve, false);
    },
};

/**
 * Section 6.1: a request for a session without its secret, or with another, is 403 with one
 * AUTH_FAILED error in the session's encoding, and the session carries on for its owner.
 */
async function sessionNeedsItsSecret(ctx, name, user, json) {
    ctx.step(name, 'requests without the session secret or with a wrong one -> 403, the owner unaffected');
    const conn = await hello(ctx, name, user);
    const wrong = randomBytes(32).toString('base64url');
    const attempts = [
        ['GET', `${conn.url}/poll?cursor=0`, {}],
        ['GET', `${conn.url}/poll?cursor=0`, { [SECRET_HEADER]: wrong }],
        ['POST', `${conn.url}/frames`, { [SECRET_HEADER]: wrong, 'content-type': json ? JSON_TYPE : PROTOBUF_TYPE }],
        ['DELETE', conn.url, {}],
    ];
    let text;
    for (const [method, url, headers] of attempts) {
        const body = method === 'POST' ? (json ? '[{"heartbeat":{}}]' : Buffer.alloc(0)) : undefined;
        const response = await request(method, url, { body, headers, timeoutMs: ctx.timeoutMs, label: name });
        const which = headers[SECRET_HEADER] ? 'a wrong secret' : 'no secret';
        check(response.status === 403, `${method} ${url} with ${which} answered ${response.status}`);
        const type = response.headers.get('content-type') ?? '';
        check(type.startsWith(json ? JSON_TYPE : PROTOBUF_TYPE), `the 403 body has Content-Type '${type}'`);
        const frames = await readFrames(response);
        check(frames.length === 1 && frames[0].error?.code === 'AUTH_FAILED', `the 403 body holds ${JSON.stringify(frames)}`);
        text = frames[0].error.text;
    }
    // The owner's poll is still held and its frames still flow: a send is accepted on it.
    await sendAccepted(conn, `after-403-${name}`, `nobody-${ctx.run}`, Buffer.from('still mine'));
    await conn.close();
    ctx.pass(`"${text}"`);
}

/** Section 6.7: an unknown session is 404 with one NOT_AUTHENTICATED error in the asked-for encoding. */
async function unknownSession(ctx, name, json) {
    ctx.step(name, `a poll of an unknown session -> 404 with a ${json ? 'JSON' : 'protobuf'} error body`);
    const id = randomBytes(18).toString('base64url');
    const url = `${ctx.addresses.longpoll}/sessions/${id}/poll?cursor=0${json ? '&format=json' : ''}`;
    const response = await request('GET', url, { timeoutMs: ctx.timeoutMs, label: name });
    check(response.status === 404, `GET ${url} answered ${response.status}`);
    const type = response.headers.get('content-type') ?? '';
    check(type.startsWith(json ? JSON_TYPE : PROTOBUF_TYPE), `the 404 body has Content-Type '${type}'`);
    const frames = await readFrames(response);
    check(frames.length === 1 && frames[0].body === 'error', `the 404 body holds ${JSON.stringify(frames)}`);
    const e = frames[0].error;
    check(e.code === 'NOT_AUTHENTICATED' && e.text.includes(id), `the 404 error is ${e.code} "${e.text}"`);
    ctx.pass(`"${e.text}"`);
}
