package io.courier.server;

import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A child process of {@link SilentConnectionFloodTest}: opens many connections that never say
 * hello — TCP, WebSocket without an upgrade, WebSocket upgraded, long-polling sessions, UDP
 * handshakes — spread over several source addresses, interleaved, then holds them and watches how
 * the server ends each: evicted to make room ({@code TOO_MANY_CONNECTIONS}, HTTP 503), closed for
 * saying no hello ({@code NOT_AUTHENTICATED}, HTTP 408), or closed with nothing said.
 *
 * <p>Arguments: {@code tcp=HOST:PORT ws=ws://HOST:PORT/ws longpoll=http://HOST:PORT/lp
 * udp=HOST:PORT sources=127.0.0.2,127.0.0.3 TCP=n WS=n WS_UPGRADED=n LONGPOLL=n UDP=n}. It prints
 * {@code opened …} once every connection is open or refused, then a {@code status …} line every
 * 250 ms; it stops when its standard input ends. Every loop is bounded: each connection is tried
 * once (a UDP handshake up to five times), every wait has a timeout.
 */
public final class SilentClients {

    enum Kind { TCP, WS, WS_UPGRADED, LONGPOLL, UDP }

    /** How each connection ended, as the client saw it. */
    enum End { EVICTED, NO_HELLO, OTHER }

    private final Map<Kind, Integer> opened = new EnumMap<>(Kind.class);
    private final Map<Kind, Integer> refused = new EnumMap<>(Kind.class);
    private final Map<Kind, Integer> failed = new EnumMap<>(Kind.class);
    private final Map<Kind, Map<End, Integer>> ended = new EnumMap<>(Kind.class);
    private final Selector selector;
    private final List<SocketChannel> longPollSockets = new ArrayList<>();

    private static final int BATCH = 50;

    private volatile boolean openedAll;
    private volatile String doing = "nothing yet";

    private SilentClients() throws IOException {
        selector = Selector.open();
        for (Kind kind : Kind.values()) {
            opened.put(kind, 0);
            refused.put(kind, 0);
            failed.put(kind, 0);
            ended.put(kind, new EnumMap<>(End.class));
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = new java.util.HashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            options.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        new SilentClients().run(options);
    }

    private void run(Map<String, String> options) throws Exception {
        List<String> sources = Arrays.asList(options.get("sources").split(","));
        // Interleaved in batches of 50, so that every transport is opening while the limit is reached;
        // within a batch the round trips are pipelined.
        List<Kind> schedule = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        Map<Kind, Integer> wanted = new EnumMap<>(Kind.class);
        for (Kind kind : Kind.values()) {
            wanted.put(kind, Integer.parseInt(options.getOrDefault(kind.name(), "0")));
        }
        for (boolean more = true; more; ) {
            more = false;
            for (Kind kind : Kind.values()) {
                int n = Math.min(BATCH, wanted.get(kind));
                if (n > 0) {
                    wanted.merge(kind, -n, Integer::sum);
                    schedule.add(kind);
                    sizes.add(n);
                    more = true;
                }
            }
        }
        URI ws = URI.create(options.get("ws"));
        URI longpoll = URI.create(options.get("longpoll"));
        InetSocketAddress tcp = address(options.get("tcp"));
        InetSocketAddress wsAddress = new InetSocketAddress(ws.getHost(), ws.getPort());
        InetSocketAddress udp = address(options.get("udp"));
        for (String source : sources) {
            SocketChannel http = SocketChannel.open();
            http.bind(new InetSocketAddress(source, 0));
            http.connect(new InetSocketAddress(longpoll.getHost(), longpoll.getPort()));
            longPollSockets.add(http);
        }
        // Blocking reads wait for the server without a timeout of their own: this watchdog bounds them.
        long deadline = System.nanoTime() + 80_000_000_000L;
        Thread watchdog = new Thread(() -> {
            while (System.nanoTime() < deadline && !openedAll) {
                java.util.concurrent.locks.LockSupport.parkNanos(100_000_000L);
            }
            if (!openedAll) {
                System.out.println("failed: still opening after 80 s, at " + doing + "; opened " + counts(opened));
                System.exit(1);
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();
        long began = System.nanoTime();
        int next = 0;
        for (int b = 0; b < schedule.size(); b++) {
            Kind kind = schedule.get(b);
            doing = "batch " + b + " of " + schedule.size() + " (" + kind + ")";
            List<String> from = new ArrayList<>();
            for (int i = 0; i < sizes.get(b); i++) {
                from.add(sources.get(next++ % sources.size()));
            }
            switch (kind) {
                case TCP -> streams(kind, from, tcp, null);
                case WS -> streams(kind, from, wsAddress, null);
                case WS_UPGRADED -> streams(kind, from, wsAddress, ws);
                case LONGPOLL -> sessions(longPollSockets.get(b % longPollSockets.size()), longpoll, from.size());
                case UDP -> udp(from, udp);
            }
        }
        openedAll = true;
        System.out.println("opened " + counts(opened) + " refused " + counts(refused) + " failed " + counts(failed)
            + " in " + (System.nanoTime() - began) / 1_000_000 + " ms");
        AtomicBoolean stop = new AtomicBoolean();
        Thread stdin = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                while (in.readLine() != null) {
                    // Any line is ignored: only the end of input stops.
                }
            } catch (IOException e) {
                // The parent is gone: stop as at the end of input.
            }
            stop.set(true);
            selector.wakeup();
        });
        stdin.setDaemon(true);
        stdin.start();
        long nextStatus = 0;
        while (!stop.get()) {
            selector.select(250);
            for (SelectionKey key : selector.selectedKeys()) {
                read(key);
            }
            selector.selectedKeys().clear();
            if (System.nanoTime() - nextStatus > 0) {
                nextStatus = System.nanoTime() + 250_000_000L;
                StringBuilder status = new StringBuilder("status");
                ended.forEach((kind, ends) -> ends.forEach((end, n) ->
                    status.append(' ').append(kind.name().toLowerCase(Locale.ROOT)).append('.')
                        .append(end.name().toLowerCase(Locale.ROOT)).append('=').append(n)));
                System.out.println(status);
            }
        }
    }

    /** TCP sockets, silent; or WebSockets whose upgrades are completed (requests pipelined) and then silent. */
    private void streams(Kind kind, List<String> sources, InetSocketAddress to, URI upgradeTo) {
        List<SocketChannel> channels = new ArrayList<>();
        for (SocketChannel channel : connectAll(kind, sources, to)) {
            try {
                if (upgradeTo != null) {
                    writeFully(channel, "GET " + upgradeTo.getPath() + " HTTP/1.1\r\nHost: " + upgradeTo.getHost() + ":"
                        + upgradeTo.getPort() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                        + "Sec-WebSocket-Protocol: courier.v1.proto\r\n\r\n");
                }
                channels.add(channel);
            } catch (IOException e) {
                failed.merge(kind, 1, Integer::sum);
            }
        }
        for (SocketChannel channel : channels) {
            try {
                if (upgradeTo != null) {
                    String head = response(channel).head;
                    leftovers.remove(channel);
                    if (!head.startsWith("HTTP/1.1 101")) {
                        (head.startsWith("HTTP/1.1 503") ? refused : failed).merge(kind, 1, Integer::sum);
                        channel.close();
                        continue;
                    }
                }
                channel.configureBlocking(false);
                channel.register(selector, SelectionKey.OP_READ, new Held(kind));
                opened.merge(kind, 1, Integer::sum);
            } catch (IOException e) {
                failed.merge(kind, 1, Integer::sum);
            }
        }
    }

    /** Connects a socket from each source at once (non-blocking, then waits for all); returns them blocking. */
    private List<SocketChannel> connectAll(Kind kind, List<String> sources, InetSocketAddress to) {
        List<SocketChannel> connecting = new ArrayList<>();
        List<SocketChannel> connected = new ArrayList<>();
        try (Selector waiting = Selector.open()) {
            for (String source : sources) {
                try {
                    SocketChannel channel = SocketChannel.open();
                    channel.configureBlocking(false);
                    channel.bind(new InetSocketAddress(source, 0));
                    if (channel.connect(to)) {
                        connected.add(channel);
                    } else {
                        channel.register(waiting, SelectionKey.OP_CONNECT);
                        connecting.add(channel);
                    }
                } catch (IOException e) {
                    failed.merge(kind, 1, Integer::sum);
                }
            }
            long until = System.nanoTime() + 30_000_000_000L;
            int pending = connecting.size();
            while (pending > 0 && System.nanoTime() < until) {
                waiting.select(500);
                for (SelectionKey key : waiting.selectedKeys()) {
                    SocketChannel channel = (SocketChannel) key.channel();
                    key.cancel();
                    pending--;
                    try {
                        if (channel.finishConnect()) {
                            connected.add(channel);
                        }
                    } catch (IOException e) {
                        failed.merge(kind, 1, Integer::sum);
                    }
                }
                waiting.selectedKeys().clear();
            }
        } catch (IOException e) {
            failed.merge(kind, 1, Integer::sum);
        }
        for (SocketChannel channel : connecting) {
            if (!connected.contains(channel)) {
                failed.merge(kind, 1, Integer::sum);
                try {
                    channel.close();
                } catch (IOException e) {
                    // Closed anyway.
                }
            }
        }
        for (SocketChannel channel : connected) {
            try {
                channel.configureBlocking(true);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return connected;
    }

    /** Long-polling sessions, opened by pipelined POSTs on a kept-alive HTTP connection, and never polled. */
    private void sessions(SocketChannel http, URI longpoll, int count) throws IOException {
        StringBuilder requests = new StringBuilder();
        for (int i = 0; i < count; i++) {
            requests.append("POST ").append(longpoll.getPath()).append("/sessions?format=json HTTP/1.1\r\nHost: ")
                .append(longpoll.getHost()).append(':').append(longpoll.getPort()).append("\r\nContent-Length: 0\r\n\r\n");
        }
        writeFully(http, requests.toString());
        for (int i = 0; i < count; i++) {
            String head = response(http).head;
            if (head.startsWith("HTTP/1.1 201")) {
                opened.merge(Kind.LONGPOLL, 1, Integer::sum);
            } else if (head.startsWith("HTTP/1.1 503")) {
                refused.merge(Kind.LONGPOLL, 1, Integer::sum);
            } else {
                failed.merge(Kind.LONGPOLL, 1, Integer::sum);
            }
        }
    }

    private static void writeFully(SocketChannel channel, String text) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    private record Response(String head, int bodyBytes) {
    }

    /** Bytes read past the last response, per channel (pipelined responses arrive together). */
    private final Map<SocketChannel, ByteBuffer> leftovers = new java.util.HashMap<>();

    /** One HTTP response on a blocking channel: its head, and its body (by Content-Length) read and dropped. */
    private Response response(SocketChannel channel) throws IOException {
        ByteBuffer buffer = leftovers.computeIfAbsent(channel, c -> ByteBuffer.allocate(8 * 1024));
        int end;
        while ((end = indexOf(buffer, "\r\n\r\n")) < 0) {
            if (!buffer.hasRemaining() || channel.read(buffer) < 0) {
                throw new IOException("closed during a response, or a head above 8 KiB");
            }
        }
        String head = new String(buffer.array(), 0, end + 4, StandardCharsets.ISO_8859_1);
        int length = 0;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        while (buffer.position() < end + 4 + length) {
            if (!buffer.hasRemaining() || channel.read(buffer) < 0) {
                throw new IOException("closed during a response body");
            }
        }
        buffer.flip().position(end + 4 + length);
        buffer.compact();
        return new Response(head, length);
    }

    private static int indexOf(ByteBuffer buffer, String text) {
        byte[] bytes = buffer.array();
        outer:
        for (int i = 0; i + text.length() <= buffer.position(); i++) {
            for (int j = 0; j < text.length(); j++) {
                if (bytes[i + j] != text.charAt(j)) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** UDP handshakes to ACCEPT, pipelined over the batch, then silence: no Courier hello, no PING, no ACK. */
    private void udp(List<String> sources, InetSocketAddress to) throws IOException {
        Map<DatagramChannel, ByteBuffer> hellos = new java.util.LinkedHashMap<>();
        for (String source : sources) {
            DatagramChannel channel = DatagramChannel.open();
            channel.bind(new InetSocketAddress(source, 0));
            channel.connect(to);
            channel.configureBlocking(false);
            hellos.put(channel, ByteBuffer.allocate(1200).put(0, (byte) 1).put(1, (byte) 1));
        }
        Map<DatagramChannel, byte[]> cookies = exchange(hellos);
        Map<DatagramChannel, ByteBuffer> hello2s = new java.util.LinkedHashMap<>();
        cookies.forEach((channel, answer) -> {
            if (answer != null && answer[0] == 2) {
                hello2s.put(channel, ByteBuffer.allocate(1200).put(0, (byte) 3).put(1, answer, 1, 24));
            } else {
                failed.merge(Kind.UDP, 1, Integer::sum);
                close(channel);
            }
        });
        for (Map.Entry<DatagramChannel, byte[]> e : exchange(hello2s).entrySet()) {
            byte[] answer = e.getValue();
            if (answer != null && answer[0] == 4) {
                e.getKey().register(selector, SelectionKey.OP_READ, new Held(Kind.UDP));
                opened.merge(Kind.UDP, 1, Integer::sum);
            } else {
                (answer != null && answer[0] == 9 ? refused : failed).merge(Kind.UDP, 1, Integer::sum);
                close(e.getKey());
            }
        }
    }

    /**
     * Sends each channel its datagram and collects the first answer of each, sending again to
     * those still unanswered every 500 ms, twenty times at most (a busy server may drop a
     * handshake when its socket's buffer is full). Unanswered channels map to null.
     */
    private static Map<DatagramChannel, byte[]> exchange(Map<DatagramChannel, ByteBuffer> datagrams) throws IOException {
        Map<DatagramChannel, byte[]> answers = new java.util.LinkedHashMap<>();
        try (Selector waiting = Selector.open()) {
            for (DatagramChannel channel : datagrams.keySet()) {
                channel.register(waiting, SelectionKey.OP_READ);
            }
            ByteBuffer buffer = ByteBuffer.allocate(2048);
            for (int attempt = 0; attempt < 20 && answers.size() < datagrams.size(); attempt++) {
                for (Map.Entry<DatagramChannel, ByteBuffer> e : datagrams.entrySet()) {
                    if (!answers.containsKey(e.getKey())) {
                        e.getKey().write(e.getValue().clear());
                    }
                }
                long until = System.nanoTime() + 500_000_000L;
                while (answers.size() < datagrams.size() && System.nanoTime() < until) {
                    waiting.select(Math.max(1, (until - System.nanoTime()) / 1_000_000));
                    for (SelectionKey key : waiting.selectedKeys()) {
                        DatagramChannel channel = (DatagramChannel) key.channel();
                        int n = channel.read(buffer.clear());
                        if (n > 0 && !answers.containsKey(channel)) {
                            answers.put(channel, Arrays.copyOf(buffer.array(), n));
                        }
                    }
                    waiting.selectedKeys().clear();
                }
            }
        }
        // The waiting selector is closed, so the channels may join another.
        for (DatagramChannel channel : datagrams.keySet()) {
            answers.putIfAbsent(channel, null);
        }
        return answers;
    }

    private static void close(DatagramChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Closed anyway.
        }
    }

    /** What a held connection received, and its end once the server closed it. */
    private void read(SelectionKey key) {
        Held held = (Held) key.attachment();
        SelectableChannel channel = key.channel();
        ByteBuffer buffer = ByteBuffer.allocate(2048);
        try {
            if (channel instanceof DatagramChannel datagrams) {
                for (int n; (n = datagrams.read(buffer.clear())) > 0; ) {
                    byte type = buffer.get(0);
                    if (type == 5 && n > 17 && buffer.getShort(15) == 1 && held.error == null) {
                        held.error = code(Frame.parseFrom(ByteBuffer.wrap(buffer.array(), 17, n - 17)));
                    } else if (type == 8) {
                        end(key, held);
                        return;
                    }
                }
                return;
            }
            int n = ((SocketChannel) channel).read(buffer);
            if (n > 0) {
                held.received.write(buffer.array(), 0, n);
            } else if (n < 0) {
                end(key, held);
            }
        } catch (IOException e) {
            end(key, held);
        }
    }

    private void end(SelectionKey key, Held held) {
        key.cancel();
        try {
            key.channel().close();
        } catch (IOException e) {
            // Closed anyway.
        }
        End end = switch (held.kind) {
            case UDP -> classify(held.error);
            case WS -> {
                String text = held.received.toString(StandardCharsets.UTF_8);
                yield text.startsWith("HTTP/1.1 503") ? End.EVICTED : text.startsWith("HTTP/1.1 408") ? End.NO_HELLO : End.OTHER;
            }
            case WS_UPGRADED -> classify(webSocketError(held.received.toByteArray()));
            default -> classify(tcpError(held.received.toByteArray()));
        };
        ended.get(held.kind).merge(end, 1, Integer::sum);
    }

    private static End classify(Error.Code code) {
        if (code == Error.Code.TOO_MANY_CONNECTIONS) {
            return End.EVICTED;
        }
        return code == Error.Code.NOT_AUTHENTICATED ? End.NO_HELLO : End.OTHER;
    }

    private static Error.Code code(Frame frame) {
        return frame.hasError() ? frame.getError().getCode() : null;
    }

    private static Error.Code tcpError(byte[] bytes) {
        try {
            Frame frame = Frame.parseDelimitedFrom(new java.io.ByteArrayInputStream(bytes));
            return frame == null ? null : code(frame);
        } catch (IOException e) {
            return null;
        }
    }

    /** The first server → client WebSocket message (unmasked, binary), as a Courier frame's error code. */
    private static Error.Code webSocketError(byte[] bytes) {
        if (bytes.length < 2 || (bytes[0] & 0x0F) != 2) {
            return null;
        }
        int length = bytes[1] & 0x7F;
        int offset = 2;
        if (length == 126) {
            length = ((bytes[2] & 0xFF) << 8) | (bytes[3] & 0xFF);
            offset = 4;
        }
        try {
            return code(Frame.parseFrom(ByteBuffer.wrap(bytes, offset, Math.min(length, bytes.length - offset))));
        } catch (IOException e) {
            return null;
        }
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static String counts(Map<Kind, Integer> counts) {
        StringBuilder text = new StringBuilder();
        counts.forEach((kind, n) -> text.append(text.length() == 0 ? "" : ",").append(kind.name().toLowerCase(Locale.ROOT))
            .append('=').append(n));
        return text.toString();
    }

    /** One held connection. */
    private static final class Held {
        final Kind kind;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        Error.Code error;

        Held(Kind kind) {
            this.kind = kind;
        }
    }
}
