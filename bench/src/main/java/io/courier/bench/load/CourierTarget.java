package io.courier.bench.load;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Courier over one transport, as a real client uses it: each connection says hello (insecure
 * authentication, or an HMAC token minted from {@code secret}), the sender sends and gets
 * {@code Accepted}, the receiver gets {@code Deliver} and acknowledges it at once — the double
 * tick — and the sender acknowledges the receipt that brings it, so the server's inboxes stay
 * empty, as they would in a chat.
 *
 * <p>With the {@code rtt=true} option the receiver answers each message at once: it sends the
 * same payload back to the sender, gets its own {@code Accepted} and receipt (and acknowledges
 * the receipt), and the sender acknowledges the reply's {@code Deliver}. The sink hears of the
 * reply's arrival, so latency is the round trip; accepted is the first leg's.
 */
final class CourierTarget implements Target {

    // One server, or the nodes of a cluster: pair i's sender uses node i, its receiver node i + 1.
    private final List<URI> addresses;
    private final TransportClient client;
    private final String prefix;

    private final boolean roundTrip;

    private CourierTarget(List<URI> addresses, TransportClient client, String prefix, boolean roundTrip) {
        this.addresses = addresses;
        this.client = client;
        this.prefix = prefix;
        this.roundTrip = roundTrip;
    }

    /**
     * @param address one server's address, or a cluster's nodes' addresses separated by commas
     *                (all of one transport): then the two users of each pair sit on different nodes.
     */
    static CourierTarget open(String address, Map<String, String> options) {
        List<URI> addresses = Arrays.stream(address.split(",")).map(String::trim).map(URI::create).toList();
        URI uri = addresses.get(0);
        // Addresses name transports by scheme, except long polling, which is plain HTTP.
        String transport = uri.getScheme().startsWith("http") ? "longpoll" : uri.getScheme().replace("wss", "ws");
        TransportClient client = TransportProviders.find(transport).createClient(
            new TransportSettings(TransportSettings.DEFAULT_HOST, 0, TransportSettings.DEFAULT_MAX_FRAME_BYTES, options));
        return new CourierTarget(addresses, client, options.getOrDefault("user-prefix", "bench"),
            Targets.roundTrip(options));
    }

    @Override
    public CompletableFuture<Pair> openPair(int index, LoadSink sink) {
        String sender = prefix + "-s" + index;
        String receiver = prefix + "-r" + index;
        AtomicReference<ClientConnection> self = new AtomicReference<>();
        URI senderNode = addresses.get(index % addresses.size());
        URI receiverNode = addresses.get((index + 1) % addresses.size());
        CompletableFuture<ClientConnection> to = connect(receiverNode, receiver, self, frame -> {
            if (frame.hasDeliver()) {
                Deliver deliver = frame.getDeliver();
                if (roundTrip) {
                    // The reply goes back through the server with every tick of its own; the
                    // payload (and so the scheduled time) is the one that came.
                    self.get().send(Frame.newBuilder().setSend(Send.newBuilder()
                        .setClientMessageId("r" + Payloads.scheduled(deliver.getPayload().asReadOnlyByteBuffer()))
                        .setRecipient(sender)
                        .setPayload(deliver.getPayload())).build());
                } else {
                    sink.received(Payloads.scheduled(deliver.getPayload().asReadOnlyByteBuffer()));
                }
                acknowledge(self.get(), deliver.getServerMessageId());
            } else if (frame.hasReceipt()) {
                // Only a replying receiver sends, and so gets receipts.
                acknowledge(self.get(), frame.getReceipt().getServerMessageId());
            } else if (frame.hasError()) {
                sink.failed(frame.getError().getCode() + ": " + frame.getError().getText());
            }
        });
        AtomicReference<ClientConnection> senderSelf = new AtomicReference<>();
        CompletableFuture<ClientConnection> from = connect(senderNode, sender, senderSelf, frame -> {
            if (frame.hasAccepted()) {
                sink.accepted(Long.parseLong(frame.getAccepted().getClientMessageId()));
            } else if (frame.hasReceipt()) {
                // The double tick reached the sender: acknowledge it like any inbox entry, as a
                // real client does, or it stays pending on the server.
                acknowledge(senderSelf.get(), frame.getReceipt().getServerMessageId());
            } else if (frame.hasDeliver() && roundTrip) {
                // The reply: the round trip ends here.
                sink.received(Payloads.scheduled(frame.getDeliver().getPayload().asReadOnlyByteBuffer()));
                acknowledge(senderSelf.get(), frame.getDeliver().getServerMessageId());
            } else if (frame.hasError()) {
                sink.failed(frame.getError().getCode() + ": " + frame.getError().getText());
            }
        });
        return to.thenCombine(from, (r, s) -> new Pair() {
            @Override
            public void send(byte[] payload) {
                // The scheduled time is unique per sender, so it doubles as the client message id.
                s.send(Frame.newBuilder().setSend(Send.newBuilder()
                    .setClientMessageId(Long.toString(Payloads.scheduled(payload)))
                    .setRecipient(receiver)
                    .setPayload(ByteString.copyFrom(payload))).build());
            }

            @Override
            public void close() {
                s.close();
                r.close();
            }
        });
    }

    @Override
    public CompletableFuture<AutoCloseable> openIdle(int index) {
        return connect(addresses.get(index % addresses.size()), prefix + "-idle" + index, new AtomicReference<>(),
            frame -> { }).thenApply(c -> c::close);
    }

    /**
     * Connects, says hello, and completes on welcome (or fails on an error frame). {@code self} is
     * set before the hello goes out, so the listener can answer on its own connection.
     */
    private CompletableFuture<ClientConnection> connect(URI address, String user,
                                                        AtomicReference<ClientConnection> self, ClientListener listener) {
        CompletableFuture<ClientConnection> welcomed = new CompletableFuture<>();
        ClientListener gate = new ClientListener() {
            @Override
            public void onFrame(Frame frame) {
                if (frame.hasWelcome()) {
                    welcomed.complete(self.get());
                } else if (frame.hasError() && !welcomed.isDone()) {
                    welcomed.completeExceptionally(new IllegalStateException(
                        user + " was refused: " + frame.getError().getCode() + " " + frame.getError().getText()));
                } else {
                    listener.onFrame(frame);
                }
            }

            @Override
            public void onClose() {
                welcomed.completeExceptionally(new IllegalStateException(user + ": connection closed before welcome"));
                listener.onClose();
            }
        };
        return client.connect(address, gate).thenCompose(connection -> {
            self.set(connection);
            connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user)
                .setClientAgent("courier-bench/0.1")).build());
            return welcomed;
        });
    }

    private static void acknowledge(ClientConnection connection, long serverMessageId) {
        connection.send(Frame.newBuilder().setDeliveryAck(DeliveryAck.newBuilder()
            .addServerMessageIds(serverMessageId)).build());
    }

    @Override
    public void close() {
        client.close();
    }
}
