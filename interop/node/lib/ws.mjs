// WebSocket (docs/PROTOCOL.md section 4): one frame per message, binary protobuf on the
// sub-protocol courier.v1.proto, JSON text on courier.v1.json.

import WebSocket from 'ws';
import { decodeFrame, encodeFrame, frameFromJson, frameToJson } from './codec.mjs';
import { FrameConnection, ProtocolError } from './connection.mjs';

export const PROTO = 'courier.v1.proto';
export const JSON_TEXT = 'courier.v1.json';

export class WsConnection extends FrameConnection {
    static open(url, subprotocol, label, timeoutMs) {
        return new Promise((resolve, reject) => {
            const ws = new WebSocket(url, [subprotocol], { handshakeTimeout: timeoutMs });
            ws.once('open', () => {
                if (ws.protocol !== subprotocol) {
                    ws.terminate();
                    reject(new ProtocolError(`${label}: the server chose sub-protocol '${ws.protocol}', we offered ${subprotocol}`));
                    return;
                }
                resolve(new WsConnection(ws, subprotocol, label, timeoutMs));
            });
            ws.once('unexpected-response', (req, res) => {
                reject(new ProtocolError(`${label}: upgrade at ${url} answered HTTP ${res.statusCode}`));
                req.destroy();
            });
            ws.once('error', (e) => reject(new ProtocolError(`${label}: cannot open ${url}: ${e.message}`)));
        });
    }

    constructor(ws, subprotocol, label, timeoutMs) {
        super(label, timeoutMs);
        this.ws = ws;
        this.json = subprotocol === JSON_TEXT;
        ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
        ws.on('close', (code, reason) => this.onClosed(`close ${code} "${reason}"`, { code, text: reason.toString() }));
        ws.on('error', (e) => this.onClosed(`WebSocket error: ${e.message}`));
    }

    onMessage(data, isBinary) {
        if (isBinary === this.json) {
            this.fail(`the server sent a ${isBinary ? 'binary' : 'text'} message on ${this.json ? JSON_TEXT : PROTO}`);
            return;
        }
        try {
            this.onFrame(this.json ? frameFromJson(data.toString('utf8')) : decodeFrame(data));
        } catch (e) {
            this.fail(`the server sent a message that is not a Frame: ${e.message}`);
        }
    }

    write(frame) {
        return this.writeRaw(this.json ? frameToJson(frame) : encodeFrame(frame), !this.json);
    }

    /** One message as given: a string or bytes, as text or binary, for refusals to check. */
    writeRaw(data, binary) {
        return new Promise((resolve, reject) => this.ws.send(data, { binary }, (e) => (e ? reject(e) : resolve())));
    }

    fail(reason) {
        this.onClosed(reason);
        this.ws.terminate();
    }

    close() {
        this.stopKeepAlive();
        if (!this.closed) {
            this.ws.close(1000, 'done');
        }
        return this.expectClosed('our close frame', this.defaultTimeoutMs).catch(() => this.ws.terminate());
    }
}
