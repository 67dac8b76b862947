// What every transport's connection shares: the frames received and not yet taken, waits for a
// frame with a deadline, the close, and the heartbeat rule of docs/PROTOCOL.md section 1.8.

/** A failed wait or a broken connection; `message` says what was awaited and what happened. */
export class ProtocolError extends Error {}

export class FrameConnection {
    constructor(label, defaultTimeoutMs) {
        this.label = label;
        this.defaultTimeoutMs = defaultTimeoutMs;
        this.received = [];
        this.waiters = new Set();
        this.closed = null;
        this.lastSentAt = Date.now();
        this.heartbeatTimer = null;
        this.device = null;
        this.rewritten = [];
    }

    /** Sends one frame (a plain object, see codec.mjs). */
    async send(frame) {
        if (this.closed) {
            throw new ProtocolError(`${this.label}: cannot send ${bodyOf(frame)}, the connection is closed (${this.closed.reason})`);
        }
        this.lastSentAt = Date.now();
        await this.write(frame);
    }

    /**
     * Takes the first received frame that `matches`, waiting at most `timeoutMs` for it. Fails at
     * once when an error frame arrives that does not match (so an unexpected refusal is reported
     * as itself, not as a timeout), and when the connection closes first.
     */
    expect(what, matches, timeoutMs = this.defaultTimeoutMs) {
        return new Promise((resolve, reject) => {
            const waiter = {
                check: () => {
                    const i = this.received.findIndex(matches);
                    if (i >= 0) {
                        return finish(() => resolve(this.received.splice(i, 1)[0]));
                    }
                    const error = this.received.find((f) => f.body === 'error');
                    if (error) {
                        return finish(() => reject(new ProtocolError(
                            `${this.label}: waiting for ${what}, got error ${error.error.code}: ${error.error.text}`)));
                    }
                    if (this.closed) {
                        return finish(() => reject(new ProtocolError(
                            `${this.label}: the connection closed (${this.closed.reason}) while waiting for ${what}`)));
                    }
                    return false;
                },
            };
            const timer = setTimeout(() => finish(() => reject(new ProtocolError(
                `${this.label}: no ${what} within ${timeoutMs} ms${this.pendingSummary()}`))), timeoutMs);
            const finish = (settle) => {
                clearTimeout(timer);
                this.waiters.delete(waiter);
                settle();
                return true;
            };
            if (!waiter.check()) {
                this.waiters.add(waiter);
            }
        });
    }

    /** Waits for a frame whose body is `body` and that passes `matches`. */
    expectBody(body, matches = () => true, what = body, timeoutMs = this.defaultTimeoutMs) {
        return this.expect(what, (f) => f.body === body && matches(f[body], f), timeoutMs).then((f) => f[body]);
    }

    /** Waits for an error frame with `code`. */
    expectError(code, timeoutMs = this.defaultTimeoutMs) {
        return this.expectBody('error', (e) => e.code === code, `error ${code}`, timeoutMs);
    }

    /** Waits until the connection is closed; resolves with {reason, ...transport details}. */
    expectClosed(what, timeoutMs = this.defaultTimeoutMs) {
        return this.waitUntil(`the close after ${what}`, () => this.closed, timeoutMs);
    }

    /** Resolves with the first truthy value of `condition`, re-checked whenever anything happens. */
    waitUntil(what, condition, timeoutMs = this.defaultTimeoutMs) {
        return new Promise((resolve, reject) => {
            const waiter = {
                check: () => {
                    const value = condition();
                    return value ? finish(() => resolve(value)) : false;
                },
            };
            const timer = setTimeout(() => finish(() => reject(new ProtocolError(
                `${this.label}: no ${what} within ${timeoutMs} ms`))), timeoutMs);
            const finish = (settle) => {
                clearTimeout(timer);
                this.waiters.delete(waiter);
                settle();
                return true;
            };
            if (!waiter.check()) {
                this.waiters.add(waiter);
            }
        });
    }

    /** Fails when frames arrived that nobody took: each entry is written once per connection. */
    assertNothingElse() {
        if (this.received.length > 0) {
            throw new ProtocolError(`${this.label}: unexpected frames ${this.received.map(describe).join(', ')}`);
        }
    }

    /** Sends a heartbeat whenever `intervalMs` has passed since the last frame sent. */
    keepAlive(intervalMs) {
        this.stopKeepAlive();
        this.heartbeatTimer = setInterval(() => {
            if (!this.closed && Date.now() - this.lastSentAt >= intervalMs) {
                this.send({ heartbeat: { clientTimeMs: String(Date.now()) } }).catch(() => {});
            }
        }, Math.max(50, intervalMs / 4));
    }

    stopKeepAlive() {
        if (this.heartbeatTimer) {
            clearInterval(this.heartbeatTimer);
            this.heartbeatTimer = null;
        }
    }

    // ---- for the transports ----

    /**
     * A device's store of inbox entries (server ids of deliver and receipt frames it has), shared
     * by its connections: an entry written again (at least once, section 1.7) is acknowledged
     * again and not handed on.
     */
    storeInto(device) {
        this.device = device;
        this.rewritten = [];
    }

    onFrame(frame) {
        if (this.device && (frame.body === 'deliver' || frame.body === 'receipt')) {
            const id = frame[frame.body].serverMessageId;
            if (this.device.has(id)) {
                this.rewritten.push(id);
                this.send({ deliveryAck: { serverMessageIds: [id] } }).catch(() => {});
                return;
            }
            this.device.add(id);
        }
        if (frame.body === 'error' && frame.error.code === 'UNKNOWN_MESSAGE' && this.rewritten.includes(frame.error.serverMessageId)) {
            // The first acknowledgement was taken after all, and a receipt leaves the inbox when
            // acknowledged: the second one names an id that is gone (section 1.6).
            return;
        }
        this.received.push(frame);
        this.wake();
    }

    onClosed(reason, details = {}) {
        if (this.closed) {
            return;
        }
        this.closed = { reason, ...details };
        this.stopKeepAlive();
        this.wake();
    }

    wake() {
        for (const waiter of [...this.waiters]) {
            waiter.check();
        }
    }

    pendingSummary() {
        return this.received.length === 0 ? '' : ` (received meanwhile: ${this.received.map(describe).join(', ')})`;
    }
}

export function bodyOf(frame) {
    return Object.keys(frame).find((k) => k !== 'requestId' && k !== 'body') ?? '(no body)';
}

function describe(frame) {
    if (!frame.body) {
        return 'a frame with no body';
    }
    const b = frame[frame.body];
    if (frame.body === 'error') {
        return `error ${b.code} "${b.text}"`;
    }
    const id = b.serverMessageId ?? b.clientMessageId;
    return id ? `${frame.body} ${id}` : frame.body;
}
