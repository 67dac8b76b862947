// The page's own database (IndexedDB), one per user and device on this origin. What is here
// survives a reload, a closed tab and a crash of the browser:
//   messages  every message of every conversation, outgoing ones with their tick state;
//   outbox    client ids of the sends the server has not accepted yet, in the order of `send`;
//   reads     server ids of messages shown to the user whose read receipt is not known to be taken;
//   receipts  receipts about messages not known here yet (their `accepted` was lost), kept until
//             the message turns up;
//   meta      counters;
//   e2e       end-to-end encryption: settings per conversation, this device's keys, sessions,
//             contacts' identity keys (secure.js).
// Every change the client makes is one transaction, committed before anything is acknowledged to
// the server or announced to the page.

const VERSION = 2;

/** Tick states of an outgoing message, in the order they may only move forward. */
export const STATES = ['pending', 'sent', 'delivered', 'read'];

export function later(a, b) {
    return STATES.indexOf(b) > STATES.indexOf(a) ? b : a;
}

function promised(request) {
    return new Promise((resolve, reject) => {
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
    });
}

export class Store {
    static async open(user, device) {
        if (typeof indexedDB === 'undefined') {
            throw new Error('This browser has no IndexedDB (a private window may turn it off); the client keeps its messages there');
        }
        const request = indexedDB.open(`courier/${user}/${device}`, VERSION);
        request.onupgradeneeded = (event) => {
            const db = request.result;
            if (event.oldVersion < 1) {
                Store.createVersion1(db);
            }
            if (event.oldVersion < 2) {
                db.createObjectStore('e2e', { keyPath: 'k' });
            }
        };
        request.onblocked = () => console.warn('courier: another tab holds an older version of the database open');
        const db = await promised(request);
        db.onversionchange = () => db.close();
        return new Store(db);
    }

    static createVersion1(db) {
        const messages = db.createObjectStore('messages', { keyPath: 'key' });
        messages.createIndex('sid', 'sid');
        messages.createIndex('conv', 'conv');
        db.createObjectStore('outbox', { keyPath: 'seq' });
        db.createObjectStore('reads', { keyPath: 'sid' });
        db.createObjectStore('receipts', { keyPath: 'key' });
        db.createObjectStore('meta', { keyPath: 'k' });
    }

    constructor(db) {
        this.db = db;
    }

    close() {
        this.db.close();
    }

    /**
     * Runs `work(stores)` in one read-write transaction over the named stores and resolves with
     * its result once the transaction has committed (not before: nothing is acknowledged on the
     * strength of a write that may still fail).
     */
    transaction(names, work) {
        return new Promise((resolve, reject) => {
            const tx = this.db.transaction(names, 'readwrite', { durability: 'strict' });
            const stores = Object.fromEntries(names.map((n) => [n, tx.objectStore(n)]));
            let result;
            tx.oncomplete = () => resolve(result);
            tx.onerror = () => reject(tx.error);
            tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
            Promise.resolve(work(stores, promised)).then((r) => { result = r; }, (e) => {
                try { tx.abort(); } catch { /* already finished */ }
                reject(e);
            });
        });
    }

    async all(name) {
        const tx = this.db.transaction([name], 'readonly');
        return promised(tx.objectStore(name).getAll());
    }
}
