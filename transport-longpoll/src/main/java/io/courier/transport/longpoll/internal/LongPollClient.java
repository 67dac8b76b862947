package io.courier.transport.longpoll.internal;

import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportException;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The long-polling client on the JDK's {@link HttpClient}: one poll at a time per session, each
 * acknowledging what the previous one brought; sends queue up and go out one POST at a time, in
 * order, batching whatever queued while the previous POST was in flight.
 */
public final class LongPollClient implements TransportClient {

    private static final Pattern SESSION = Pattern.compile("\"session\"\\s*:\\s*\"([^\"]+)\"");
    private static final String PROTO = "application/x-courier-frames";

    private final ExecutorService executor;
    private final HttpClient http;
    private final int maxFrameBytes;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();

    public LongPollClient(TransportSettings settings) {
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread thread = new Thread(r, "courier-longpoll-client");
            thread.setDaemon(true);
            return thread;
        });
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(executor)
            .connectTimeout(Duration.ofSeconds(10)).build();
        this.maxFrameBytes = settings.maxFrameBytes();
    }

    @Override
    public CompletableFuture<ClientConnection> connect(URI address, ClientListener listener) {
        if (!"http".equals(address.getScheme()) && !"https".equals(address.getScheme())) {
            return CompletableFuture.failedFuture(new TransportException("Not a long-polling address: " + address
                + " (expected http://host:port/path)"));
        }
        HttpRequest open = HttpRequest.newBuilder(URI.create(address + "/sessions"))
            .POST(HttpRequest.BodyPublishers.noBody()).header("Content-Type", PROTO).build();
        return http.sendAsync(open, HttpResponse.BodyHandlers.ofString())
            .handle((response, failure) -> {
                if (failure != null) {
                    throw new TransportException("Cannot connect to " + address + ": " + failure.getMessage(), failure);
                }
                Matcher m = SESSION.matcher(response.body());
                if (response.statusCode() != 201 || !m.find()) {
                    throw new TransportException("Cannot open a session at " + address + ": HTTP "
                        + response.statusCode() + " " + response.body());
                }
                Session session = new Session(URI.create(address + "/sessions/" + m.group(1)), listener);
                sessions.add(session);
                session.pollNext();
                return session;
            });
    }

    @Override
    public void close() {
        for (Session session : sessions) {
            session.close();
        }
        executor.shutdown();
        try {
            executor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One session: its poll loop and its ordered send queue. */
    private final class Session implements ClientConnection {
        private final URI uri;
        private final ClientListener listener;
        private final CompletableFuture<Void> closed = new CompletableFuture<>();
        private volatile boolean ended;
        private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
        private boolean posting;
        private long cursor;

        Session(URI uri, ClientListener listener) {
            this.uri = uri;
            this.listener = listener;
        }

        void pollNext() {
            if (ended) {
                return;
            }
            HttpRequest poll = HttpRequest.newBuilder(URI.create(uri + "/poll?cursor=" + cursor)).GET()
                .timeout(Duration.ofMinutes(2)).build();
            http.sendAsync(poll, HttpResponse.BodyHandlers.ofByteArray()).whenComplete((response, failure) -> {
                if (failure != null || response.statusCode() != 200) {
                    ended();
                    return;
                }
                List<Frame> frames;
                try {
                    frames = Bodies.decode(response.body(), false, Integer.MAX_VALUE);
                } catch (Bodies.BadBody bad) {
                    ended();
                    return;
                }
                for (Frame frame : frames) {
                    listener.onFrame(frame);
                }
                response.headers().firstValue("X-Courier-Cursor").ifPresent(c -> cursor = Long.parseLong(c));
                // After a fatal error the server sends nothing more: this poll acknowledges it and gets 410.
                pollNext();
            });
        }

        @Override
        public void send(Frame frame) {
            enqueue(frame.toByteArray());
        }

        @Override
        public void sendUnchecked(byte[] encodedFrame) {
            enqueue(encodedFrame);
        }

        private void enqueue(byte[] frame) {
            synchronized (queue) {
                if (ended) {
                    return;
                }
                queue.addLast(frame);
                if (posting) {
                    return;
                }
                posting = true;
            }
            postQueued();
        }

        private void postQueued() {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            synchronized (queue) {
                while (!queue.isEmpty() && body.size() < maxFrameBytes) {
                    Bodies.writeRaw(body, queue.pollFirst());
                }
            }
            HttpRequest post = HttpRequest.newBuilder(URI.create(uri + "/frames")).header("Content-Type", PROTO)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
            http.sendAsync(post, HttpResponse.BodyHandlers.discarding()).whenComplete((response, failure) -> {
                boolean more;
                synchronized (queue) {
                    more = failure == null && !queue.isEmpty() && !ended;
                    posting = more;
                    if (failure != null) {
                        queue.clear();
                    }
                }
                if (more) {
                    postQueued();
                }
            });
        }

        @Override
        public boolean isOpen() {
            return !ended;
        }

        @Override
        public void close() {
            if (ended) {
                return;
            }
            HttpRequest delete = HttpRequest.newBuilder(uri).DELETE().timeout(Duration.ofSeconds(10)).build();
            http.sendAsync(delete, HttpResponse.BodyHandlers.discarding()).whenComplete((r, f) -> ended());
        }

        private void ended() {
            synchronized (queue) {
                if (ended) {
                    return;
                }
                ended = true;
                queue.clear();
            }
            sessions.remove(this);
            try {
                listener.onClose();
            } finally {
                closed.complete(null);
            }
        }

        @Override
        public CompletableFuture<Void> closeFuture() {
            return closed;
        }
    }
}
