// The two transports a browser can speak (docs/PROTOCOL.md sections 4 and 6), both carrying frames
// in the JSON mapping of section 2.2. Each is a connection: `send(frame)`, `close()`, and the
// callbacks `onframe(frame)` and `onclose(reason)` (called once).

export const SUBPROTOCOL = 'courier.v1.json';
const SECRET_HEADER = 'X-Courier-Session-Secret';
// The server holds an empty poll for poll-timeout-ms (10 s by default); a poll unanswered for much
// longer than that means the connection is gone.
const POLL_DEADLINE_MS = 30_000;

/** A refusal that says when to try again (HTTP 503 with Retry-After, or a WebSocket close after one). */
export class RetryLater extends Error {
    constructor(message, retryAfterMs) {
        super(message);
        this.retryAfterMs = retryAfterMs;
    }
}

export class WebSocketTransport {
    /** Opens `url` on the JSON sub-protocol; fails if it is not open within `timeoutMs`. */
    static open(url, timeoutMs) {
        return new Promise((resolve, reject) => {
            let ws;
            try {
                ws = new WebSocket(url, [SUBPROTOCOL]);
            } catch (e) {
                // No WebSocket here, or one that refuses to be made (a blocking extension or proxy).
                reject(new Error(`cannot open a WebSocket to ${url}: ${e.message}`));
                return;
            }
            const timer = setTimeout(() => {
                ws.onopen = ws.onerror = ws.onclose = null;
                ws.close();
                reject(new Error(`WebSocket ${url} did not open within ${timeoutMs} ms`));
            }, timeoutMs);
            ws.onopen = () => {
                clearTimeout(timer);
                if (ws.protocol !== SUBPROTOCOL) {
                    ws.close();
                    reject(new Error(`WebSocket ${url} chose sub-protocol '${ws.protocol}', not ${SUBPROTOCOL}`));
                    return;
                }
                resolve(new WebSocketTransport(ws));
            };
            ws.onerror = () => {
                // The close event that follows says no more; an unopened socket failing is all we learn.
            };
            ws.onclose = (event) => {
                clearTimeout(timer);
                reject(new Error(`WebSocket ${url} closed before it opened (code ${event.code})`));
            };
        });
    }

    constructor(ws) {
        this.name = 'websocket';
        this.ws = ws;
        this.closed = false;
        this.onframe = () => {};
        this.onclose = () => {};
        ws.onmessage = (event) => {
            if (typeof event.data !== 'string') {
                this.finish('the server sent a binary message on the JSON sub-protocol');
                return;
            }
            let frame;
            try {
                frame = JSON.parse(event.data);
            } catch (e) {
                this.finish(`the server sent a message that is not JSON: ${e.message}`);
                return;
            }
            this.onframe(frame);
        };
        ws.onclose = (event) => this.finish(`WebSocket closed (code ${event.code}${event.reason ? `, ${event.reason}` : ''})`);
        ws.onerror = () => {};
    }

    send(frame) {
        if (!this.closed) {
            this.ws.send(JSON.stringify(frame));
        }
    }

    close() {
        if (!this.closed) {
            this.ws.close(1000, 'bye');
            this.finish('closed by the page');
        }
    }

    finish(reason) {
        if (this.closed) {
            return;
        }
        this.closed = true;
        try {
            this.ws.close();
        } catch { /* already closed */ }
        this.onclose(reason);
    }
}

async function request(url, init, timeoutMs) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
        return await fetch(url, { ...init, signal: abort.signal, cache: 'no-store', credentials: 'omit' });
    } catch (e) {
        throw new Error(`${init.method ?? 'GET'} ${url}: ${e.name === 'AbortError' ? `no answer within ${timeoutMs} ms` : e.message}`);
    } finally {
        clearTimeout(timer);
    }
}

export class LongPollTransport {
    /** Opens a JSON session at `base` (http://host:port/lp). */
    static async open(base, timeoutMs) {
        const url = `${base}/sessions?format=json`;
        const response = await request(url, { method: 'POST' }, timeoutMs);
        const text = await response.text();
        if (response.status === 503) {
            const seconds = Number(response.headers.get('Retry-After') ?? '5');
            throw new RetryLater(`POST ${url} answered 503: the server holds its maximum of connections`, seconds * 1000);
        }
        if (response.status !== 201) {
            throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 200)}`);
        }
        const { session, secret } = JSON.parse(text);
        return new LongPollTransport(base, session, secret, timeoutMs);
    }

    constructor(base, session, secret, timeoutMs) {
        this.name = 'longpoll';
        this.url = `${base}/sessions/${session}`;
        this.secret = secret;
        this.timeoutMs = timeoutMs;
        this.cursor = 0;
        this.queue = [];
        this.posting = false;
        this.closed = false;
        this.onframe = () => {};
        this.onclose = () => {};
        // After the constructor returns, so that onframe is set before the first answer.
        queueMicrotask(() => this.poll());
    }

    /** The session's secret goes with every request, never in the URL (section 6.1). */
    headers(extra = {}) {
        return { [SECRET_HEADER]: this.secret, ...extra };
    }

    async poll() {
        while (!this.closed) {
            let response;
            let frames;
            try {
                response = await request(`${this.url}/poll?cursor=${this.cursor}`, { headers: this.headers() }, POLL_DEADLINE_MS);
                if (response.status === 410) {
                    this.finish('the long-polling session ended (410)');
                    return;
                }
                if (response.status !== 200) {
                    const body = await response.text();
                    this.finish(`poll answered ${response.status}: ${body.slice(0, 200)}`);
                    return;
                }
                frames = await response.json();
            } catch (e) {
                this.finish(e.message);
                return;
            }
            const cursor = response.headers.get('X-Courier-Cursor');
            if (cursor === null || !Array.isArray(frames)) {
                this.finish('a poll answer without X-Courier-Cursor or a JSON array');
                return;
            }
            this.cursor = Number(cursor);
            for (const frame of frames) {
                if (this.closed) {
                    return;
                }
                this.onframe(frame);
            }
        }
    }

    send(frame) {
        if (this.closed) {
            return;
        }
        this.queue.push(frame);
        if (!this.posting) {
            this.flush();
        }
    }

    /** One POST at a time, so frames keep their order; what is queued meanwhile goes in the next. */
    async flush() {
        this.posting = true;
        while (this.queue.length > 0 && !this.closed) {
            const batch = this.queue.splice(0);
            try {
                const response = await request(`${this.url}/frames`, {
                    method: 'POST',
                    headers: this.headers({ 'Content-Type': 'application/json' }),
                    body: JSON.stringify(batch),
                }, this.timeoutMs);
                if (response.status !== 204) {
                    const body = await response.text();
                    this.finish(`POST frames answered ${response.status}: ${body.slice(0, 200)}`);
                }
            } catch (e) {
                this.finish(e.message);
            }
        }
        this.posting = false;
    }

    close() {
        if (this.closed) {
            return;
        }
        // Ends the session at once rather than after session-timeout-ms; keepalive lets it finish
        // while the page unloads.
        request(this.url, { method: 'DELETE', headers: this.headers(), keepalive: true }, this.timeoutMs).catch(() => {});
        this.finish('closed by the page');
    }

    finish(reason) {
        if (this.closed) {
            return;
        }
        this.closed = true;
        this.queue = [];
        this.onclose(reason);
    }
}
