// TCP (docs/PROTOCOL.md section 3): a stream of records, each a varint32 length and that many
// bytes of protobuf Frame, both ways. No handshake below Courier's own, no transport keep-alive.

import net from 'node:net';
import { decodeFrame, decodeVarint32, encodeRecord } from './codec.mjs';
import { FrameConnection, ProtocolError } from './connection.mjs';

export class TcpConnection extends FrameConnection {
    static open(host, port, label, timeoutMs) {
        return new Promise((resolve, reject) => {
            const socket = net.connect({ host, port, noDelay: true });
            const timer = setTimeout(() => {
                socket.destroy();
                reject(new ProtocolError(`${label}: no TCP connection to ${host}:${port} within ${timeoutMs} ms`));
            }, timeoutMs);
            socket.once('connect', () => {
                clearTimeout(timer);
                resolve(new TcpConnection(socket, label, timeoutMs));
            });
            socket.once('error', (e) => {
                clearTimeout(timer);
                reject(new ProtocolError(`${label}: cannot connect to tcp://${host}:${port}: ${e.message}`));
            });
        });
    }

    constructor(socket, label, timeoutMs) {
        super(label, timeoutMs);
        this.socket = socket;
        this.pending = Buffer.alloc(0);
        this.endOfStream = false;
        socket.on('data', (chunk) => this.onData(chunk));
        socket.on('end', () => {
            // The server shuts down its sending side after a fatal error (section 3.3).
            this.endOfStream = true;
            this.onClosed('end of stream from the server', { endOfStream: true });
            socket.end();
        });
        socket.on('error', (e) => this.onClosed(`socket error: ${e.message}`));
        socket.on('close', () => this.onClosed('socket closed'));
    }

    write(frame) {
        return this.writeBytes(encodeRecord(frame));
    }

    /** Bytes as they are, for refusals the framing should give. */
    writeBytes(bytes) {
        return new Promise((resolve, reject) => this.socket.write(bytes, (e) => (e ? reject(e) : resolve())));
    }

    onData(chunk) {
        this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
        for (;;) {
            let prefix;
            try {
                prefix = decodeVarint32(this.pending);
            } catch (e) {
                this.fail(`the server wrote a bad length prefix: ${e.message}`);
                return;
            }
            if (prefix === null || this.pending.length < prefix.size + prefix.value) {
                return;
            }
            const bytes = this.pending.subarray(prefix.size, prefix.size + prefix.value);
            this.pending = this.pending.subarray(prefix.size + prefix.value);
            try {
                this.onFrame(decodeFrame(bytes));
            } catch (e) {
                this.fail(`the server wrote bytes that are not a Frame: ${e.message}`);
                return;
            }
        }
    }

    fail(reason) {
        this.onClosed(reason);
        this.socket.destroy();
    }

    close() {
        this.stopKeepAlive();
        this.socket.end();
        return this.expectClosed('closing our side', this.defaultTimeoutMs).catch(() => this.socket.destroy());
    }
}
