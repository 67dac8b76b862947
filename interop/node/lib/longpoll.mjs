// HTTP long polling (docs/PROTOCOL.md section 6): POST BASE/sessions opens a session and answers
// its id and secret, frames go up in POSTs (one in flight at a time, so their order holds), and one
// GET poll is kept outstanding; its cursor acknowledges what the previous answers carried. Every
// request on the session carries the secret in the X-Courier-Session-Secret header (6.1).

import { decodeRecords, encodeRecord, frameFromJsonValue, frameToJsonValue } from './codec.mjs';
import { FrameConnection, ProtocolError } from './connection.mjs';

export const PROTOBUF_TYPE = 'application/x-courier-frames';
export const JSON_TYPE = 'application/json';
export const SECRET_HEADER = 'x-courier-session-secret';

/** A request with a deadline; the error names the method and the URL. */
export async function request(method, url, { body, headers = {}, timeoutMs, label }) {
    try {
        return await fetch(url, { method, body, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
        const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.message}${e.cause ? ` (${e.cause.message})` : ''}`;
        throw new ProtocolError(`${label}: ${method} ${url}: ${why}`);
    }
}

/** Frames of a poll answer or error body, by its Content-Type. */
export async function readFrames(response) {
    const type = response.headers.get('content-type') ?? '';
    const bytes = Buffer.from(await response.arrayBuffer());
    if (type.startsWith(JSON_TYPE)) {
        const list = JSON.parse(bytes.toString('utf8'));
        if (!Array.isArray(list)) {
            throw new Error(`a JSON body that is not an array: ${bytes.toString('utf8').slice(0, 200)}`);
        }
        return list.map(frameFromJsonValue);
    }
    if (type.startsWith(PROTOBUF_TYPE)) {
        return decodeRecords(bytes);
    }
    throw new Error(`a body of Content-Type '${type}', neither ${JSON_TYPE} nor ${PROTOBUF_TYPE}`);
}

export class LongPollConnection extends FrameConnection {
    /** Opens a session at `base` (http://host:port/lp) whose bodies are JSON or protobuf. */
    static async open(base, json, label, timeoutMs) {
        const url = `${base}/sessions${json ? '?format=json' : ''}`;
        const response = await request('POST', url, { timeoutMs, label });
        const text = await response.text();
        if (response.status !== 201) {
            throw new ProtocolError(`${label}: POST ${url} answered ${response.status}, not 201: ${text.slice(0, 200)}`);
        }
        const { session, secret } = JSON.parse(text);
        if (typeof session !== 'string' || !/^[A-Za-z0-9_-]{24}$/.test(session)
            || typeof secret !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(secret)) {
            throw new ProtocolError(`${label}: POST ${url} answered ${text}, not {"session": 24 and "secret": 43 base64url characters}`);
        }
        return new LongPollConnection(base, session, secret, json, label, timeoutMs);
    }

    constructor(base, session, secret, json, label, timeoutMs) {
        super(label, timeoutMs);
        this.base = base;
        this.session = session;
        this.secret = secret;
        this.json = json;
        this.url = `${base}/sessions/${session}`;
        this.cursor = 0;
        this.outbox = [];
        this.posting = null;
        this.polls = 0;
        this.poll();
    }

    async poll() {
        // Held at most poll-timeout-ms (10 s) by the server, so the deadline leaves room above it.
        const holdMs = 30_000;
        while (!this.closed) {
            let response;
            try {
                response = await request('GET', `${this.url}/poll?cursor=${this.cursor}`,
                    { headers: this.secretHeader(), timeoutMs: holdMs, label: this.label });
            } catch (e) {
                this.onClosed(e.message);
                return;
            }
            this.polls++;
            if (response.status === 410) {
                await response.arrayBuffer();
                this.onClosed('410 Gone', { status: 410 });
                return;
            }
            if (response.status !== 200) {
                const body = await response.text();
                this.onClosed(`poll answered ${response.status}: ${body.slice(0, 300)}`, { status: response.status });
                return;
            }
            const wantType = this.json ? JSON_TYPE : PROTOBUF_TYPE;
            const type = response.headers.get('content-type') ?? '';
            const cursor = response.headers.get('x-courier-cursor');
            let frames;
            try {
                if (!type.startsWith(wantType)) {
                    throw new Error(`Content-Type '${type}' on a ${this.json ? 'JSON' : 'protobuf'} session`);
                }
                if (cursor === null || !/^\d+$/.test(cursor)) {
                    throw new Error(`X-Courier-Cursor '${cursor}'`);
                }
                frames = await readFrames(response);
            } catch (e) {
                this.onClosed(`a poll answer this client cannot read: ${e.message}`);
                return;
            }
            const next = Number(cursor);
            if (next !== this.cursor + frames.length) {
                this.onClosed(`a poll after cursor ${this.cursor} carried ${frames.length} frames but X-Courier-Cursor ${next}`);
                return;
            }
            this.cursor = next;
            frames.forEach((f) => this.onFrame(f));
        }
    }

    /** The header that proves a request comes from whoever opened the session. */
    secretHeader() {
        return { [SECRET_HEADER]: this.secret };
    }

    write(frame) {
        return new Promise((resolve, reject) => {
            this.outbox.push({ frame, resolve, reject });
            if (!this.posting) {
                this.posting = this.flush();
            }
        });
    }

    /** POSTs what waits, one request at a time: frames queued meanwhile go in the next body. */
    async flush() {
        while (this.outbox.length > 0) {
            const batch = this.outbox.splice(0);
            const body = this.json
                ? JSON.stringify(batch.map((b) => frameToJsonValue(b.frame)))
                : Buffer.concat(batch.map((b) => encodeRecord(b.frame)));
            try {
                await this.postBody(body, this.json ? JSON_TYPE : PROTOBUF_TYPE);
                batch.forEach((b) => b.resolve());
            } catch (e) {
                batch.forEach((b) => b.reject(e));
            }
        }
        this.posting = null;
    }

    /** One POST of a body as given; fails unless it is answered 204. */
    async postBody(body, contentType) {
        const url = `${this.url}/frames`;
        const headers = { 'content-type': contentType, ...this.secretHeader() };
        const response = await request('POST', url, { body, headers, timeoutMs: this.defaultTimeoutMs, label: this.label });
        const text = await response.text();
        if (response.status !== 204) {
            throw new ProtocolError(`${this.label}: POST ${url} answered ${response.status}, not 204: ${text.slice(0, 300)}`);
        }
    }

    /** DELETE the session; the held poll is then answered 410. */
    async close() {
        if (this.closed) {
            return;
        }
        const response = await request('DELETE', this.url, { headers: this.secretHeader(), timeoutMs: this.defaultTimeoutMs, label: this.label });
        await response.arrayBuffer();
        if (response.status !== 204) {
            throw new ProtocolError(`${this.label}: DELETE ${this.url} answered ${response.status}, not 204`);
        }
        await this.expectClosed('DELETE');
    }
}
