package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Receipt;
import io.courier.transport.proto.Send;
import io.courier.transport.proto.Welcome;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A test client that behaves like a well-made device: it de-duplicates deliveries by server id,
 * acknowledges what it stored, records ticks per client message id, and keeps everything it saw
 * for assertions. One instance is one user/device across reconnects.
 */
final class TestClient implements ClientListener {

    static final long TIMEOUT_SECONDS = 30;

    private final TransportClient transport;
    private volatile URI address;
    final String user;
    final String device;
    private final String token;
    private volatile boolean autoAck = true;

    private volatile ClientConnection connection;
    private volatile CompletableFuture<Welcome> welcome = new CompletableFuture<>();

    /** Deliveries in arrival order, de-duplicated by server id (what the user's screen shows). */
    final List<Deliver> delivered = new ArrayList<>();
    private final Map<Long, Boolean> seenServerIds = new ConcurrentHashMap<>();
    /** client message id -> server id from single ticks (all of them, to check "exactly one"). */
    final Map<String, List<Long>> accepted = new ConcurrentHashMap<>();
    /** message server id -> receipt statuses in arrival order (duplicates removed by receipt id). */
    final Map<Long, List<Receipt.Status>> receipts = new ConcurrentHashMap<>();
    private final Map<Long, Boolean> seenReceiptIds = new ConcurrentHashMap<>();
    final BlockingQueue<Error> errors = new LinkedBlockingQueue<>();
    final BlockingQueue<Frame> others = new LinkedBlockingQueue<>();
    private volatile CompletableFuture<Void> closed = new CompletableFuture<>();

    TestClient(TransportClient transport, URI address, String user, String device, String token) {
        this.transport = transport;
        this.address = address;
        this.user = user;
        this.device = device;
        this.token = token;
    }

    /** Makes the next connect go to {@code other} (another node of a cluster), keeping all it saw. */
    TestClient at(URI other) {
        this.address = other;
        return this;
    }

    /** Where the next connect goes. */
    URI address() {
        return address;
    }

    /** The highest server id delivered so far: the resume point a device would give. */
    synchronized long lastDeliveredId() {
        return delivered.stream().mapToLong(Deliver::getServerMessageId).max().orElse(0);
    }

    /** Connects without saying hello. */
    TestClient connectOnly() throws Exception {
        welcome = new CompletableFuture<>();
        closed = new CompletableFuture<>();
        connection = transport.connect(address, this).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        return this;
    }

    /** Connects and completes the hello/welcome handshake. */
    TestClient connect() throws Exception {
        return connect(0);
    }

    /** Connects with a resume point: the server sends this connection only entries above it. */
    TestClient connect(long resumeAfterServerId) throws Exception {
        connectOnly();
        connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice(device)
            .setToken(token).setResumeAfterServerId(resumeAfterServerId)).build());
        Welcome w = welcome.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(w.getUser()).isEqualTo(user);
        return this;
    }

    /** The last Welcome, once {@link #connect()} returned. */
    Welcome welcome() {
        return welcome.getNow(null);
    }

    void sendHello(String withToken) {
        connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice(device)
            .setToken(withToken)).build());
    }

    void autoAck(boolean on) {
        autoAck = on;
    }

    void raw(Frame frame) {
        connection.send(frame);
    }

    void rawBytes(byte[] bytes) {
        connection.sendUnchecked(bytes);
    }

    void send(String to, String clientId, String text) {
        connection.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
            .setContentType("text/plain").setPayload(ByteString.copyFromUtf8(text))).build());
    }

    void ack(long... serverIds) {
        DeliveryAck.Builder ack = DeliveryAck.newBuilder();
        for (long id : serverIds) {
            ack.addServerMessageIds(id);
        }
        connection.send(Frame.newBuilder().setDeliveryAck(ack).build());
    }

    void markRead(long... serverIds) {
        ReadReceipt.Builder read = ReadReceipt.newBuilder();
        for (long id : serverIds) {
            read.addServerMessageIds(id);
        }
        connection.send(Frame.newBuilder().setReadReceipt(read).build());
    }

    /** Cuts the connection abruptly (from the client side) and waits until it is closed. */
    void disconnect() throws Exception {
        ClientConnection c = connection;
        if (c != null) {
            c.close();
            closed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    CompletableFuture<Void> closedFuture() {
        return closed;
    }

    boolean isOpen() {
        ClientConnection c = connection;
        return c != null && c.isOpen();
    }

    synchronized List<Deliver> deliveredSnapshot() {
        return new ArrayList<>(delivered);
    }

    synchronized int deliveredCount() {
        return delivered.size();
    }

    Error nextError() throws InterruptedException {
        Error e = errors.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(e).as("an error frame for %s/%s", user, device).isNotNull();
        return e;
    }

    long serverIdOf(String clientId) {
        List<Long> ids = accepted.get(clientId);
        return ids == null || ids.isEmpty() ? 0 : ids.get(0);
    }

    List<Receipt.Status> receiptsFor(long messageServerId) {
        return receipts.getOrDefault(messageServerId, List.of());
    }

    Map<String, Long> acceptedFirstIds() {
        Map<String, Long> out = new LinkedHashMap<>();
        accepted.forEach((k, v) -> out.put(k, v.get(0)));
        return out;
    }

    @Override
    public void onFrame(Frame frame) {
        switch (frame.getBodyCase()) {
            case WELCOME -> welcome.complete(frame.getWelcome());
            case ACCEPTED -> {
                Accepted a = frame.getAccepted();
                accepted.computeIfAbsent(a.getClientMessageId(), k -> new java.util.concurrent.CopyOnWriteArrayList<>())
                    .add(a.getServerMessageId());
            }
            case DELIVER -> {
                Deliver d = frame.getDeliver();
                if (seenServerIds.putIfAbsent(d.getServerMessageId(), Boolean.TRUE) == null) {
                    synchronized (this) {
                        delivered.add(d);
                    }
                }
                if (autoAck) {
                    ack(d.getServerMessageId());
                }
            }
            case RECEIPT -> {
                Receipt r = frame.getReceipt();
                if (seenReceiptIds.putIfAbsent(r.getServerMessageId(), Boolean.TRUE) == null) {
                    receipts.computeIfAbsent(r.getMessageServerId(), k -> new java.util.concurrent.CopyOnWriteArrayList<>())
                        .add(r.getStatus());
                }
                ack(r.getServerMessageId());
            }
            case ERROR -> errors.add(frame.getError());
            default -> others.add(frame);
        }
    }

    @Override
    public void onClose() {
        closed.complete(null);
    }
}
