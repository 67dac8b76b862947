// UDP (docs/PROTOCOL.md section 5): a stateless-cookie handshake, then two streams of numbered DATA
// datagrams, acknowledged cumulatively and selectively, retransmitted on an RFC 6298 timer, and
// reassembled into frames in order, exactly once.

import dgram from 'node:dgram';
import { decodeFrame, encodeFrame } from './codec.mjs';
import { FrameConnection, ProtocolError } from './connection.mjs';

export const HELLO = 0x01;
export const COOKIE = 0x02;
export const HELLO2 = 0x03;
export const ACCEPT = 0x04;
export const DATA = 0x05;
export const ACK = 0x06;
export const PING = 0x07;
export const CLOSE = 0x08;
export const REJECT = 0x09;

const HANDSHAKE_BYTES = 1200;
const HEADER = 9;
const DATA_HEADER = 17;
const FRAGMENT = 1183;
const WINDOW = 64;
const REORDER = 1024;
const ACK_EVERY = 16;
const INITIAL_RTO_MS = 1000;
const MIN_RTO_MS = 50;
const MAX_RTO_MS = 5000;
const HANDSHAKE_RETRY_MS = 200;
const KEEPALIVE_MS = 2000;
const SILENCE_MS = 30_000;
const TICK_MS = 5;

/** The 9-byte header of every datagram after the handshake. */
export function header(type, connectionId, extra = 0) {
    const d = Buffer.alloc(HEADER + extra);
    d[0] = type;
    connectionId.copy(d, 1);
    return d;
}

export class UdpConnection extends FrameConnection {
    static async open(host, port, label, timeoutMs) {
        const socket = dgram.createSocket('udp4');
        await new Promise((resolve, reject) => {
            socket.once('error', reject);
            socket.connect(port, host, () => {
                socket.off('error', reject);
                resolve();
            });
        }).catch((e) => {
            socket.close();
            throw new ProtocolError(`${label}: cannot reach udp://${host}:${port}: ${e.message}`);
        });
        const connectionId = await handshake(socket, `${label}: udp://${host}:${port}`, Math.min(timeoutMs, 5000));
        return new UdpConnection(socket, connectionId, label, timeoutMs);
    }

    constructor(socket, connectionId, label, timeoutMs) {
        super(label, timeoutMs);
        this.socket = socket;
        this.id = connectionId;
        // sending
        this.nextSequence = 1;
        this.queue = [];
        this.inFlight = new Map();
        this.rtoMs = INITIAL_RTO_MS;
        this.srtt = null;
        this.rttvar = null;
        this.lastDatagramSentAt = Date.now();
        // receiving
        this.expected = 1;
        this.buffered = new Map();
        this.message = null;
        this.unacknowledged = 0;
        this.ackScheduled = false;
        this.lastHeardAt = Date.now();
        // for tests of this client: drop datagrams as a lossy link would, and count what it did
        this.dropOutgoing = () => false;
        this.dropIncoming = () => false;
        this.stats = { retransmissions: 0, droppedOut: 0, droppedIn: 0, acksSent: 0, fragmentsOut: 0, fragmentsIn: 0 };

        socket.on('message', (d) => this.onDatagram(d));
        socket.on('error', (e) => this.shutdown(`socket error: ${e.message}`));
        this.timer = setInterval(() => this.tick(), TICK_MS);
    }

    write(frame) {
        if (this.ended) {
            throw new ProtocolError(`${this.label}: the connection has ended (${this.closed?.reason})`);
        }
        const bytes = encodeFrame(frame);
        const count = Math.max(1, Math.ceil(bytes.length / FRAGMENT));
        for (let index = 0; index < count; index++) {
            const part = bytes.subarray(index * FRAGMENT, Math.min(bytes.length, (index + 1) * FRAGMENT));
            const d = header(DATA, this.id, 8 + part.length);
            const sequence = this.nextSequence++;
            d.writeUInt32BE(sequence, 9);
            d.writeUInt16BE(index, 13);
            d.writeUInt16BE(count, 15);
            part.copy(d, DATA_HEADER);
            this.queue.push({ sequence, datagram: d, transmissions: 0, sentAt: 0, dueAt: 0 });
        }
        this.stats.fragmentsOut += count;
        this.pump();
    }

    /** Sends queued DATA while fewer than the window are unacknowledged. */
    pump() {
        while (this.inFlight.size < WINDOW && this.queue.length > 0) {
            const entry = this.queue.shift();
            this.inFlight.set(entry.sequence, entry);
            this.transmit(entry);
        }
    }

    transmit(entry) {
        const now = Date.now();
        entry.transmissions++;
        entry.sentAt = now;
        // After the n-th transmission: min(5 s, RTO × 2^(n−1)), the exponent stopping at 10.
        entry.dueAt = now + Math.min(MAX_RTO_MS, this.rtoMs * 2 ** Math.min(entry.transmissions - 1, 10));
        if (entry.transmissions > 1) {
            this.stats.retransmissions++;
        }
        if (this.dropOutgoing(entry)) {
            this.stats.droppedOut++;
            return;
        }
        this.raw(entry.datagram);
    }

    raw(datagram) {
        this.lastDatagramSentAt = Date.now();
        this.socket.send(datagram);
    }

    tick() {
        const now = Date.now();
        for (const entry of this.inFlight.values()) {
            if (entry.dueAt <= now) {
                this.transmit(entry);
            }
        }
        if (now - this.lastDatagramSentAt >= KEEPALIVE_MS) {
            this.raw(header(PING, this.id));
        }
        if (now - this.lastHeardAt > SILENCE_MS) {
            this.shutdown(`no datagram from the server for ${SILENCE_MS} ms`, true);
        }
    }

    onDatagram(d) {
        if (d.length < HEADER || !d.subarray(1, HEADER).equals(this.id)) {
            return; // a late handshake answer, or another connection's: not ours to act on
        }
        this.lastHeardAt = Date.now();
        switch (d[0]) {
            case DATA:
                if (this.dropIncoming(d)) {
                    this.stats.droppedIn++;
                    return;
                }
                this.onData(d);
                break;
            case ACK:
                if (d.length >= 21) {
                    this.onAck(d.readUInt32BE(9), d.readBigUInt64BE(13));
                }
                break;
            case CLOSE:
                this.shutdown('CLOSE from the server', false);
                break;
            case REJECT:
                this.shutdown(`REJECT from the server: ${d.subarray(HEADER).toString('utf8')}`, false);
                break;
            default:
                break; // PING (the answer to ours) and anything else only keep the connection alive
        }
    }

    onData(d) {
        if (d.length < DATA_HEADER) {
            return; // a body under 8 bytes is ignored and not acknowledged
        }
        const sequence = d.readUInt32BE(9);
        this.unacknowledged++;
        if (sequence >= this.expected && sequence < this.expected + REORDER && !this.buffered.has(sequence)) {
            this.buffered.set(sequence, d);
        }
        while (this.buffered.has(this.expected)) {
            const next = this.buffered.get(this.expected);
            this.buffered.delete(this.expected);
            this.expected++;
            this.reassemble(next.readUInt16BE(13), next.readUInt16BE(15), next.subarray(DATA_HEADER));
            if (this.ended) {
                return;
            }
        }
        if (this.unacknowledged >= ACK_EVERY) {
            this.sendAck();
        } else if (!this.ackScheduled) {
            // After the datagrams of this read burst: Node emits them before it runs immediates.
            this.ackScheduled = true;
            setImmediate(() => {
                this.ackScheduled = false;
                if (this.unacknowledged > 0 && !this.ended) {
                    this.sendAck();
                }
            });
        }
    }

    reassemble(index, count, payload) {
        this.stats.fragmentsIn++;
        if (count === 0 || index >= count) {
            return this.shutdown(`the server sent fragment ${index} of a message of ${count} fragments`, true);
        }
        if (index === 0) {
            if (this.message) {
                return this.shutdown(`the server started a message before fragment ${this.message.parts.length} of ${this.message.count}`, true);
            }
            this.message = { count, parts: [] };
        } else if (!this.message || index !== this.message.parts.length || count !== this.message.count) {
            return this.shutdown(`the server sent fragment ${index} of ${count} out of its message`, true);
        }
        this.message.parts.push(payload);
        if (this.message.parts.length === count) {
            const bytes = Buffer.concat(this.message.parts);
            this.message = null;
            try {
                this.onFrame(decodeFrame(bytes));
            } catch (e) {
                this.shutdown(`the server sent a message that is not a Frame: ${e.message}`, true);
            }
        }
        return undefined;
    }

    sendAck() {
        const cumulative = this.expected - 1;
        let sack = 0n;
        for (const sequence of this.buffered.keys()) {
            const bit = sequence - cumulative - 1;
            if (bit >= 0 && bit < 64) {
                sack |= 1n << BigInt(bit);
            }
        }
        const d = header(ACK, this.id, 12);
        d.writeUInt32BE(cumulative, 9);
        d.writeBigUInt64BE(sack, 13);
        this.unacknowledged = 0;
        this.stats.acksSent++;
        this.socket.send(d);
    }

    onAck(cumulative, sack) {
        const now = Date.now();
        let sample = null;
        for (const [sequence, entry] of this.inFlight) {
            const bit = sequence - cumulative - 1;
            if (sequence <= cumulative || (bit < 64 && ((sack >> BigInt(bit)) & 1n) === 1n)) {
                this.inFlight.delete(sequence);
                // Karn's rule: only DATA sent once gives a round-trip sample, the highest such.
                if (entry.transmissions === 1 && (sample === null || sequence > sample.sequence)) {
                    sample = entry;
                }
            }
        }
        if (sample) {
            this.measured(now - sample.sentAt);
        }
        this.pump();
        this.wake();
    }

    /** RFC 6298 as section 5.3 gives it. */
    measured(r) {
        if (this.srtt === null) {
            this.srtt = r;
            this.rttvar = r / 2;
        } else {
            this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
            this.srtt = 0.875 * this.srtt + 0.125 * r;
        }
        this.rtoMs = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.srtt + Math.max(1, 4 * this.rttvar)));
    }

    /** True when everything sent has been acknowledged. */
    get drained() {
        return this.inFlight.size === 0 && this.queue.length === 0;
    }

    shutdown(reason, sendClose) {
        if (this.ended) {
            return;
        }
        this.ended = true;
        clearInterval(this.timer);
        if (sendClose) {
            this.socket.send(header(CLOSE, this.id), () => this.socket.close());
        } else {
            this.socket.close();
        }
        this.onClosed(reason);
    }

    /** Waits until the server has every DATA sent (an ack sent last must not be cut off), then CLOSE. */
    async close() {
        this.stopKeepAlive();
        if (!this.ended) {
            await this.waitUntil('ACK of everything sent', () => this.drained || this.ended)
                .finally(() => this.shutdown('closed by this client', true));
        }
    }
}

/**
 * HELLO until a COOKIE, HELLO2 until an ACCEPT, each repeated every 200 ms (section 5.2).
 * Resolves with the 8-byte connection id.
 */
function handshake(socket, label, timeoutMs) {
    return new Promise((resolve, reject) => {
        const hello = Buffer.alloc(HANDSHAKE_BYTES);
        hello[0] = HELLO;
        hello[1] = 0x01;
        let hello2 = null;
        const resend = () => socket.send(hello2 ?? hello);
        const retry = setInterval(resend, HANDSHAKE_RETRY_MS);
        const timer = setTimeout(() => done(new ProtocolError(
            `${label}: no ${hello2 ? 'ACCEPT for our HELLO2' : 'COOKIE for our HELLO'} within ${timeoutMs} ms`)), timeoutMs);
        const onMessage = (d) => {
            if (d[0] === COOKIE && d.length === 25 && !hello2) {
                hello2 = Buffer.alloc(HANDSHAKE_BYTES);
                hello2[0] = HELLO2;
                d.copy(hello2, 1, 1, 25);
                resend();
            } else if (d[0] === ACCEPT && d.length === HEADER && hello2) {
                done(null, Buffer.from(d.subarray(1, HEADER)));
            } else if (d[0] === REJECT) {
                done(new ProtocolError(`${label}: handshake REJECTed: ${d.subarray(HEADER).toString('utf8')}`));
            }
        };
        const onError = (e) => done(new ProtocolError(e.code === 'ECONNREFUSED'
            ? `${label}: nothing listens there (the HELLO came back as ICMP port unreachable)`
            : `${label}: ${e.message}`));
        const done = (error, id) => {
            clearInterval(retry);
            clearTimeout(timer);
            socket.off('message', onMessage);
            socket.off('error', onError);
            if (error) {
                socket.close();
                reject(error);
            } else {
                resolve(id);
            }
        };
        socket.on('message', onMessage);
        socket.on('error', onError);
        resend();
    });
}
