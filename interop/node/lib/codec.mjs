// Frames in and out of bytes and JSON text (docs/PROTOCOL.md sections 2 and 3.1), and HMAC tokens
// (section 1.12). The schema is read from courier.proto at run time: nothing is generated.
//
// A frame is handled as a plain object in protobuf.js's shape: lowerCamelCase fields, 64-bit
// integers as decimal strings, enums by name, bytes as Buffers, and `body` naming the oneof body
// that is set ({body: 'send', send: {...}, requestId: '0'}).

import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import protojson from 'protobufjs/ext/protojson.js';

const SCHEMA = fileURLToPath(new URL('../../../transport-api/src/main/proto/courier/v1/courier.proto', import.meta.url));

const root = protobuf.loadSync(SCHEMA);
const Frame = root.lookupType('courier.v1.Frame');

const AS_OBJECT = { longs: String, enums: String, oneofs: true, defaults: true };

/** The schema file this client reads. */
export const schemaPath = SCHEMA;

function toPlain(message) {
    return Frame.toObject(message, AS_OBJECT);
}

function fromPlain(frame) {
    return Frame.fromObject(frame);
}

/** A frame as protobuf bytes (no length prefix). */
export function encodeFrame(frame) {
    return Buffer.from(Frame.encode(fromPlain(frame)).finish());
}

/** Protobuf bytes (no length prefix) as a frame; unknown fields are skipped. */
export function decodeFrame(bytes) {
    return toPlain(Frame.decode(bytes));
}

/** A frame as protobuf's canonical JSON text (section 2.2). */
export function frameToJson(frame) {
    return protojson.toJsonString(Frame, fromPlain(frame));
}

/** A frame from JSON text; fields this schema does not know are ignored (section 2.3). */
export function frameFromJson(text) {
    return toPlain(protojson.fromJsonString(Frame, text, { ignoreUnknownFields: true }));
}

/** A frame from an already parsed JSON value (an element of a long-polling array). */
export function frameFromJsonValue(value) {
    return toPlain(protojson.fromJson(Frame, value, { ignoreUnknownFields: true }));
}

/** A frame as JSON value, for a long-polling array. */
export function frameToJsonValue(frame) {
    return protojson.toJson(Frame, fromPlain(frame));
}

/** protobuf's base-128 varint of a 32-bit length. */
export function encodeVarint32(value) {
    const out = [];
    let v = value >>> 0;
    while (v >= 0x80) {
        out.push((v & 0x7f) | 0x80);
        v >>>= 7;
    }
    out.push(v);
    return Buffer.from(out);
}

/**
 * Reads a varint32 at `offset` of `buffer`. Returns {value, size}, or null when the buffer ends
 * before the varint does; throws when a fifth byte still has the continuation bit.
 */
export function decodeVarint32(buffer, offset = 0) {
    let value = 0;
    for (let i = 0; i < 5; i++) {
        if (offset + i >= buffer.length) {
            return null;
        }
        const b = buffer[offset + i];
        value += (b & 0x7f) * 2 ** (7 * i);
        if ((b & 0x80) === 0) {
            return { value, size: i + 1 };
        }
    }
    throw new Error('Length prefix is longer than a varint32 (5 bytes)');
}

/** A frame as one length-prefixed record, as on TCP and in protobuf long-polling bodies. */
export function encodeRecord(frame) {
    const bytes = encodeFrame(frame);
    return Buffer.concat([encodeVarint32(bytes.length), bytes]);
}

/** Every record of a complete protobuf long-polling body. */
export function decodeRecords(body) {
    const frames = [];
    let offset = 0;
    while (offset < body.length) {
        const prefix = decodeVarint32(body, offset);
        if (prefix === null || offset + prefix.size + prefix.value > body.length) {
            throw new Error(`A record is cut short at byte ${offset} of a ${body.length}-byte body`);
        }
        offset += prefix.size;
        frames.push(decodeFrame(body.subarray(offset, offset + prefix.value)));
        offset += prefix.value;
    }
    return frames;
}

/**
 * `v2:KEY:USER:DEVICE:ISSUED:EXPIRES:SIGNATURE` (PROTOCOL.md 1.12): HMAC-SHA256 over everything
 * before the last colon, with every byte of key file KEY.key as the key; times in ms since the
 * epoch; device `*` for any device of the user.
 */
export function mintToken({ keyId, key }, user, { device = '*', issuedMs, expiresMs }) {
    const body = `v2:${keyId}:${user}:${device}:${issuedMs}:${expiresMs}`;
    return `${body}:${createHmac('sha256', key).update(body, 'utf8').digest('base64url')}`;
}

/** A token of the first format, `user:expiry:signature` with expiry in seconds, which servers still accept. */
export function mintFirstFormatToken(key, user, expirySeconds) {
    const body = `${user}:${expirySeconds}`;
    return `${body}:${createHmac('sha256', key).update(body, 'utf8').digest('base64url')}`;
}

/**
 * The active key of a server's key directory (PROTOCOL.md 1.12): the file `N.key` with the
 * highest N; its bytes, all of them, are the key. Throws naming the directory when it has none.
 */
export function activeKey(directory) {
    const ids = readdirSync(directory).map((name) => /^([1-9][0-9]*)\.key$/.exec(name)).filter(Boolean)
        .map((m) => Number(m[1]));
    if (ids.length === 0) {
        throw new Error(`no key file N.key in ${directory}`);
    }
    const keyId = Math.max(...ids);
    return { keyId, key: readFileSync(join(directory, `${keyId}.key`)) };
}
