#!/usr/bin/env node
// A Courier client written from docs/PROTOCOL.md and courier.proto alone, run against a live
// server over every transport: TCP, UDP, WebSocket (protobuf and JSON) and long polling (JSON and
// protobuf bodies). Prints one line per passed step; on the first failure prints the transport,
// the step and what went wrong, and exits 1. Exit 2 is a usage error.
//
//   node interop/node/interop.mjs --tcp 127.0.0.1:7100 --udp 127.0.0.1:7101 \
//     --ws ws://127.0.0.1:7102/ws --longpoll http://127.0.0.1:7103/lp --key-dir data/auth-keys

import { parseArgs } from 'node:util';
import { FrameConnection, ProtocolError } from './lib/connection.mjs';
import { activeKey, schemaPath } from './lib/codec.mjs';
import { selfChecks, scenarioFor } from './lib/scenarios.mjs';

const ALL = ['tcp', 'udp', 'ws-proto', 'ws-json', 'longpoll-json', 'longpoll-proto'];
const NEEDS = { tcp: 'tcp', udp: 'udp', 'ws-proto': 'ws', 'ws-json': 'ws', 'longpoll-json': 'longpoll', 'longpoll-proto': 'longpoll' };

const USAGE = `usage: node interop/node/interop.mjs --tcp HOST:PORT --udp HOST:PORT --ws URL --longpoll URL
                                    [--key-dir DIR] [--only NAMES] [--timeout-ms N]

  --tcp HOST:PORT        the server's TCP transport (tcp://HOST:PORT works too)
  --udp HOST:PORT        the server's UDP transport (udp://HOST:PORT works too)
  --ws URL               the WebSocket endpoint, e.g. ws://127.0.0.1:7102/ws (HOST:PORT means /ws)
  --longpoll URL         the long-polling base, e.g. http://127.0.0.1:7103/lp (HOST:PORT means /lp)
  --key-dir DIR          the server's HMAC key directory, to mint tokens with its active key
                         (default data/auth-keys)
  --only NAMES           comma-separated subset of ${ALL.join(', ')}
                         (default: all; only the addresses they need are then required)
  --timeout-ms N         how long each wait for a frame may take (default 10000)

Runs, per transport: hello/welcome, a conversation with its three ticks, an offline drain of 50
messages, and refusals of bad input. Exit status 0 when every step passed.`;

function usage(problem) {
    process.stderr.write(`interop: ${problem}\n\n${USAGE}\n`);
    process.exit(2);
}

function hostPort(option, value, scheme) {
    const m = /^(?:([a-z]+):\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(value);
    if (!m || (m[1] && m[1] !== scheme)) {
        usage(`--${option} ${value} is not HOST:PORT or ${scheme}://HOST:PORT`);
    }
    return { host: m[2].replace(/^\[|\]$/g, ''), port: Number(m[3]) };
}

function url(option, value, schemes, defaultPath) {
    const text = /^[a-z]+:\/\//.test(value) ? value : `${schemes[0]}://${value}${defaultPath}`;
    let parsed;
    try {
        parsed = new URL(text);
    } catch {
        usage(`--${option} ${value} is not a URL or HOST:PORT`);
    }
    if (!schemes.includes(parsed.protocol.replace(':', '')) || !parsed.port) {
        usage(`--${option} ${value} must be ${schemes[0]}://HOST:PORT/PATH with an explicit port`);
    }
    return text.replace(/\/$/, '');
}

let args;
try {
    args = parseArgs({
        options: {
            tcp: { type: 'string' },
            udp: { type: 'string' },
            ws: { type: 'string' },
            longpoll: { type: 'string' },
            'key-dir': { type: 'string', default: 'data/auth-keys' },
            only: { type: 'string' },
            'timeout-ms': { type: 'string', default: '10000' },
            help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
    }).values;
} catch (e) {
    usage(e.message);
}
if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
}

const selected = args.only ? args.only.split(',').map((s) => s.trim()).filter(Boolean) : ALL;
for (const name of selected) {
    if (!ALL.includes(name)) {
        usage(`--only names '${name}'; known: ${ALL.join(', ')}`);
    }
    if (!args[NEEDS[name]]) {
        usage(`${name} needs --${NEEDS[name]}`);
    }
}
const timeoutMs = Number(args['timeout-ms']);
if (!Number.isInteger(timeoutMs) || timeoutMs < 100) {
    usage(`--timeout-ms ${args['timeout-ms']} is not a whole number of milliseconds of at least 100`);
}

let signingKey;
try {
    signingKey = activeKey(args['key-dir']);
} catch (e) {
    usage(`cannot read a key from ${args['key-dir']} (${e.code ?? e.message}): pass the server's DATA_DIR/auth-keys with --key-dir`);
}
if (signingKey.key.length < 32) {
    usage(`the key ${args['key-dir']}/${signingKey.keyId}.key has ${signingKey.key.length} bytes; a server's key has at least 32`);
}

const addresses = {
    tcp: args.tcp && hostPort('tcp', args.tcp, 'tcp'),
    udp: args.udp && hostPort('udp', args.udp, 'udp'),
    ws: args.ws && url('ws', args.ws, ['ws', 'wss'], '/ws'),
    longpoll: args.longpoll && url('longpoll', args.longpoll, ['http', 'https'], '/lp'),
};

// Names unique to this run, so a run against a server that keeps its data starts clean.
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
const context = { signingKey, timeoutMs, run, addresses, devices: new Map() };

let current = { transport: 'self-check', step: 'start' };
const open = new Set();
context.track = (connection) => {
    open.add(connection);
    return connection;
};
context.step = (transport, name) => {
    current = { transport, step: name, startedAt: Date.now() };
};
context.pass = (detail) => {
    const ms = `${Date.now() - current.startedAt} ms`;
    process.stdout.write(`ok   ${current.transport.padEnd(15)} ${current.step} (${detail ? `${detail}; ` : ''}${ms})\n`);
};

async function main() {
    process.stdout.write(`interop: schema ${schemaPath}, run ${run}, transports ${selected.join(', ')}\n`);
    await selfChecks(context);
    for (const name of selected) {
        await scenarioFor(name)(context);
        for (const c of open) {
            if (c instanceof FrameConnection && !c.closed) {
                await c.close();
            }
        }
        open.clear();
    }
    process.stdout.write(`interop: all ${selected.length} transports passed: ${selected.join(', ')}\n`);
}

main().then(
    () => process.exit(0),
    (e) => {
        process.stdout.write(`FAIL ${current.transport}: ${current.step}: ${e.message}\n`);
        if (!(e instanceof ProtocolError)) {
            // Not a finding about the server but a fault of this client: show where.
            process.stdout.write(`${e.stack}\n`);
        }
        process.exit(1);
    },
);
