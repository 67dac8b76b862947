package io.courier.router;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.router.auth.InsecureAuthenticator;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.Connection;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Heartbeat;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.DeviceAddress;
import io.courier.transport.proto.DevicePayload;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundlePublish;
import io.courier.transport.proto.MediaRef;
import io.courier.transport.proto.MediaSlotRequest;
import io.courier.transport.proto.OneTimePreKey;
import io.courier.transport.proto.PresenceQuery;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Receipt;
import io.courier.transport.proto.Send;
import io.courier.transport.proto.Welcome;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fuzzes the router's frame handling through its public {@link io.courier.transport.ConnectionHandler}
 * API alone, with the in-memory store: a few connections, opened, fed any sequence of frames —
 * hellos for a handful of users and devices, sends, acknowledgements and read receipts for ids the
 * connection has seen or not, presence and key requests, frames a client may not send, frames with
 * no body, frames parsed from raw bytes — closed and reopened, made unwritable and writable again.
 *
 * <p>Whatever the sequence, after the router has closed (which commits what its writer holds):
 * no exception escapes a callback or kills a router thread, no {@code INTERNAL} error is sent, a
 * connection gets at most one {@code Welcome} and only in answer to a hello, every
 * {@code Accepted} names a send of that connection and a positive server id, a {@code Deliver}
 * goes only to its recipient's or its sender's devices and a {@code Receipt} only to its
 * message's sender's, a connection gets its deliveries and receipts once each, in increasing id
 * order, every send on a connection still open is answered, and a {@code Connection} is only ever
 * written to on its I/O thread.
 *
 * <p>The connections' I/O thread is the test's own: what the router hands their executor runs
 * when the input says so, and at the end.
 *
 * <p>The input is a list of steps, read a byte at a time (past its end every byte reads as zero):
 * the connection (byte mod 3), then the step (byte mod 17): 0 hello, 1-2 send, 3 delivery ack, 4
 * read receipt, 5 heartbeat, 6 presence query, 7 key publish, 8 key fetch, 9 media slot request,
 * 10 a server's body, 11 no body, 12 a frame parsed from the next bytes, 13 the client closes, 14
 * writability flips, 15 the I/O thread runs what is queued, 16 the clock moves on by the next
 * byte's seconds and the router sweeps (heartbeats, hello timeouts, last-seen times). A frame
 * step goes on with a byte whose low bit asks for a request id (the byte's value / 2 mod 4), then
 * the frame's fields: choices from short lists by a byte, byte strings as a length byte and the
 * bytes (a payload: two length bytes, mod 601). See {@link #frame}.
 *
 * <p>Committed inputs: {@code RouterFrameFuzzTestInputs} beside this class under
 * {@code src/test/resources}.
 */
class RouterFrameFuzzTest {

    private static final int CONNECTIONS = 3;
    private static final String[] USERS = {"alice", "bob", "carol", "", "not a user", "x".repeat(65)};
    private static final String[] DEVICES = {"", "1", "2", "tablet", "no/slash"};
    private static final String[] CLIENT_IDS = {"c1", "c2", "c3", "", "x".repeat(129)};
    private static final int MAX_FRAME_BYTES = 600;

    @FuzzTest(maxDuration = "20s")
    void shouldHoldTheDeliveryInvariantsWhateverTheClientsSend(byte[] input) throws Exception {
        Input data = new Input(input);
        List<Throwable> threadFailures = new CopyOnWriteArrayList<>();
        Thread.UncaughtExceptionHandler previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((thread, failure) -> threadFailures.add(failure));
        SteppedClock clock = new SteppedClock();
        StorageBackend storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
        Router router = new Router(RouterConfig.builder().mailboxCapacity(4).drainPageSize(4).maxPayloadBytes(256)
            .build(), storage, new InsecureAuthenticator(), new SimpleMeterRegistry(), clock).start();
        IoThread io = new IoThread();
        List<InProcessConnection> all = new ArrayList<>();
        InProcessConnection[] slots = new InProcessConnection[CONNECTIONS];
        try {
            while (data.more()) {
                int slot = data.pick(CONNECTIONS);
                if (slots[slot] == null || !slots[slot].isOpen()) {
                    slots[slot] = new InProcessConnection(io, router);
                    all.add(slots[slot]);
                    router.onOpen(slots[slot]);
                }
                InProcessConnection connection = slots[slot];
                int op = data.pick(17);
                switch (op) {
                    case 13 -> connection.close();
                    case 14 -> connection.setWritable(!connection.isWritable());
                    case 15 -> io.runAll();
                    case 16 -> {
                        clock.advance(data.next() * 1000L);
                        router.sweep();
                    }
                    default -> connection.receive(frame(op, data, connection));
                }
            }
            io.runAll();
        } finally {
            // Close commits whatever the writer holds and waits for the storage readers, so after
            // it every answer has been handed to the connections' I/O thread.
            router.close();
            io.runAll();
            Thread.setDefaultUncaughtExceptionHandler(previous);
        }
        Set<InProcessConnection> openAtEnd = new HashSet<>();
        for (InProcessConnection connection : all) {
            if (connection.isOpen()) {
                openAtEnd.add(connection);
            }
            connection.close();
        }
        io.runAll();
        storage.close();

        assertThat(threadFailures).as("failures that killed a router thread").isEmpty();
        Map<String, Set<Long>> acceptedIdsByUser = new HashMap<>();
        for (InProcessConnection connection : all) {
            if (connection.user != null) {
                connection.handed.stream().filter(Frame::hasAccepted).map(f -> f.getAccepted().getServerMessageId())
                    .forEach(id -> acceptedIdsByUser.computeIfAbsent(connection.user, u -> new HashSet<>()).add(id));
            }
        }
        for (InProcessConnection connection : all) {
            assertInvariants(connection, acceptedIdsByUser, openAtEnd.contains(connection));
        }
    }

    private static void assertInvariants(InProcessConnection connection, Map<String, Set<Long>> acceptedIdsByUser,
                                         boolean openAtEnd) {
        assertThat(connection.offThread).as("calls off the I/O thread on " + connection).isEmpty();
        List<Frame> written = connection.written;
        assertThat(written).filteredOn(Frame::hasError).extracting(f -> f.getError().getCode())
            .as("errors sent to " + connection).doesNotContain(Error.Code.INTERNAL);
        assertThat(written).filteredOn(Frame::hasWelcome).as("welcomes").hasSizeLessThanOrEqualTo(1);
        long lastId = 0;
        for (Frame frame : written) {
            switch (frame.getBodyCase()) {
                case WELCOME -> assertThat(connection.hellos).as("hellos before a welcome").isPositive();
                case ACCEPTED -> {
                    Accepted accepted = frame.getAccepted();
                    assertThat(accepted.getServerMessageId()).as("an accepted server id").isPositive();
                    assertThat(connection.sentClientIds).as("client ids this connection sent")
                        .contains(accepted.getClientMessageId());
                }
                case DELIVER -> {
                    Deliver deliver = frame.getDeliver();
                    assertThat(connection.user).as("the user of a connection given a deliver").isNotNull();
                    assertThat(List.of(deliver.getRecipient(), deliver.getSender()))
                        .as("recipient and sender of a deliver to " + connection.user).contains(connection.user);
                    assertThat(acceptedIdsByUser.getOrDefault(deliver.getSender(), Set.of()))
                        .as("ids accepted from " + deliver.getSender()).contains(deliver.getServerMessageId());
                    assertThat(deliver.getServerMessageId()).as("ids in the order delivered").isGreaterThan(lastId);
                    lastId = deliver.getServerMessageId();
                }
                case RECEIPT -> {
                    Receipt receipt = frame.getReceipt();
                    assertThat(acceptedIdsByUser.getOrDefault(connection.user, Set.of()))
                        .as("ids accepted from " + connection.user + ", who got a receipt")
                        .contains(receipt.getMessageServerId());
                    assertThat(receipt.getByUser()).as("who acknowledged a message of " + connection.user)
                        .isNotEqualTo(connection.user);
                    assertThat(receipt.getServerMessageId()).as("ids in the order delivered").isGreaterThan(lastId);
                    lastId = receipt.getServerMessageId();
                }
                default -> {
                }
            }
        }
        if (openAtEnd) {
            Set<String> answered = new HashSet<>();
            for (Frame frame : written) {
                if (frame.hasAccepted()) {
                    answered.add(frame.getAccepted().getClientMessageId());
                } else if (frame.hasError()) {
                    answered.add(frame.getError().getClientMessageId());
                }
            }
            assertThat(answered).as("client ids answered on " + connection).containsAll(connection.sendsAfterWelcome);
        }
    }

    // ---------------------------------------------------------------- the frames

    private static Frame frame(int op, Input data, InProcessConnection connection) {
        Frame.Builder frame = Frame.newBuilder();
        int request = data.next();
        if ((request & 1) != 0) {
            frame.setRequestId((request >> 1) % 4);
        }
        switch (op) {
            case 0 -> frame.setHello(Hello.newBuilder().setUser(data.pick(USERS)).setDevice(data.pick(DEVICES))
                .setResumeAfterServerId(data.next() % 21));
            case 1, 2 -> {
                Send.Builder send = Send.newBuilder().setClientMessageId(data.pick(CLIENT_IDS))
                    .setRecipient(data.pick(USERS)).setContentType(data.text())
                    .setPayload(ByteString.copyFrom(data.bytes(((data.next() << 8) | data.next()) % 601)));
                if (data.bool()) {
                    send.setMedia(MediaRef.newBuilder().setUrl(data.text()).setSizeBytes(data.next())
                        .setKey(ByteString.copyFrom(data.bytes())));
                }
                if (op == 2 && data.bool()) {
                    // End-to-end encrypted: per-device payloads (usually without the plain one), for
                    // devices that may or may not have bundles, named once or twice.
                    if (data.bool()) {
                        send.clearPayload();
                    }
                    for (int i = data.pick(4); i > 0; i--) {
                        send.addDevicePayloads(DevicePayload.newBuilder()
                            .setDevice(DeviceAddress.newBuilder().setUser(data.pick(USERS)).setDevice(data.pick(DEVICES)))
                            .setPayload(ByteString.copyFrom(data.bytes())));
                    }
                }
                frame.setSend(send);
            }
            case 3 -> frame.setDeliveryAck(DeliveryAck.newBuilder().addAllServerMessageIds(ids(data, connection)));
            case 4 -> frame.setReadReceipt(ReadReceipt.newBuilder().addAllServerMessageIds(ids(data, connection)));
            case 5 -> frame.setHeartbeat(Heartbeat.newBuilder().setClientTimeMs(data.next()));
            case 6 -> frame.setPresenceQuery(PresenceQuery.newBuilder().setUser(data.pick(USERS)));
            case 7 -> {
                KeyBundlePublish.Builder publish = KeyBundlePublish.newBuilder();
                if (data.bool()) {
                    // Well-formed keys (one of two identities), so that some publishes are taken.
                    byte identity = (byte) data.pick(2);
                    publish.setIdentityKey(ByteString.copyFrom(filled(32, identity)))
                        .setAgreementKey(ByteString.copyFrom(filled(32, 7)))
                        .setIdentityDhKey(ByteString.copyFrom(filled(32, identity)))
                        .setSignedPreKeyId(data.next());
                    for (int i = data.pick(30); i > 0; i--) {
                        publish.addOneTimePreKeys(OneTimePreKey.newBuilder().setId(data.next())
                            .setPublicKey(ByteString.copyFrom(filled(data.bool() ? 32 : 31, 9))));
                    }
                } else {
                    publish.setIdentityKey(ByteString.copyFrom(data.bytes()))
                        .setAgreementKey(ByteString.copyFrom(data.bytes()))
                        .setSignature(ByteString.copyFrom(data.bytes()));
                }
                frame.setKeyBundlePublish(publish);
            }
            case 8 -> {
                KeyBundleFetch.Builder fetch = KeyBundleFetch.newBuilder().setUser(data.pick(USERS));
                for (int i = data.pick(3); i > 0; i--) {
                    fetch.addDevices(data.pick(DEVICES));
                }
                frame.setKeyBundleFetch(fetch);
            }
            case 9 -> frame.setMediaSlotRequest(MediaSlotRequest.newBuilder().setContentType(data.text())
                .setSizeBytes(data.next()));
            case 10 -> frame.setWelcome(Welcome.newBuilder().setUser(data.pick(USERS))); // a server's body
            case 11 -> {
                // no body at all
            }
            default -> {
                try {
                    return Frame.parseFrom(data.bytes());
                } catch (InvalidProtocolBufferException e) {
                    return Frame.getDefaultInstance();
                }
            }
        }
        return frame.build();
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    /**
     * Up to four ids, each from a byte: with its high bit set, one of the ids the connection was
     * given (deliveries and receipts), if any; otherwise the byte's value mod 21.
     */
    private static List<Long> ids(Input data, InProcessConnection connection) {
        List<Long> ids = new ArrayList<>();
        int count = data.next() % 5;
        for (int i = 0; i < count; i++) {
            int choice = data.next();
            List<Long> seen = connection.seenIds();
            if ((choice & 0x80) != 0 && !seen.isEmpty()) {
                ids.add(seen.get((choice & 0x7F) % seen.size()));
            } else {
                ids.add((long) (choice % 21));
            }
        }
        return ids;
    }

    /** The router's time: it moves only when the input says so. */
    private static final class SteppedClock extends Clock {
        private final AtomicLong millis = new AtomicLong(Instant.parse("2026-01-01T00:00:00Z").toEpochMilli());

        void advance(long ms) {
            millis.addAndGet(ms);
        }

        @Override
        public long millis() {
            return millis.get();
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis());
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }

    /** The fuzzer's bytes, front to back; past the end every byte reads as zero. */
    private static final class Input {
        private final byte[] bytes;
        private int at;

        Input(byte[] bytes) {
            this.bytes = bytes;
        }

        boolean more() {
            return at < bytes.length;
        }

        int next() {
            return at < bytes.length ? bytes[at++] & 0xFF : 0;
        }

        int pick(int choices) {
            return next() % choices;
        }

        String pick(String[] choices) {
            return choices[pick(choices.length)];
        }

        boolean bool() {
            return (next() & 1) != 0;
        }

        /** A length byte, then that many bytes (fewer at the end of the input). */
        byte[] bytes() {
            return bytes(next());
        }

        byte[] bytes(int length) {
            int n = Math.min(length, bytes.length - at);
            byte[] out = java.util.Arrays.copyOfRange(bytes, at, at + n);
            at += n;
            return out;
        }

        String text() {
            return new String(bytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    // ---------------------------------------------------------------- the transport

    /** One I/O thread for every connection: the test's own thread, running queued tasks when told. */
    private static final class IoThread implements Executor {
        private final Thread thread = Thread.currentThread();
        private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();

        @Override
        public void execute(Runnable task) {
            tasks.add(task);
        }

        boolean inThread() {
            return Thread.currentThread() == thread;
        }

        void runAll() {
            for (Runnable task; (task = tasks.poll()) != null; ) {
                task.run();
            }
        }
    }

    /**
     * A connection as a transport provides it: frames from the client are handed to the router on
     * the I/O thread, a close reaches the router ({@code onClose}) on the I/O thread after the
     * current task, and what the router writes is recorded.
     */
    private static final class InProcessConnection implements Connection {
        private static final AtomicLong IDS = new AtomicLong();

        private final long id = IDS.incrementAndGet();
        private final IoThread io;
        private final Router router;
        private final AtomicBoolean open = new AtomicBoolean(true);
        private final AtomicBoolean closing = new AtomicBoolean();
        private volatile boolean writable = true;
        private Object attachment;
        /** What reached the client. */
        final List<Frame> written = new ArrayList<>();
        /** Everything the router wrote, also what a closing connection dropped. */
        final List<Frame> handed = new ArrayList<>();
        final List<String> offThread = new CopyOnWriteArrayList<>();
        final Set<String> sentClientIds = new HashSet<>();
        final Set<String> sendsAfterWelcome = new HashSet<>();
        int hellos;
        String user;

        InProcessConnection(IoThread io, Router router) {
            this.io = io;
            this.router = router;
        }

        void receive(Frame frame) {
            if (frame.hasHello()) {
                hellos++;
            }
            if (frame.hasSend()) {
                sentClientIds.add(frame.getSend().getClientMessageId());
                // An over-long id is refused without being echoed (the error says its length), so
                // its answer cannot be matched by id.
                if (user != null && !frame.getSend().getClientMessageId().isEmpty()
                    && frame.getSend().getClientMessageId().length() <= 128) {
                    sendsAfterWelcome.add(frame.getSend().getClientMessageId());
                }
            }
            router.onFrame(this, frame);
        }

        void setWritable(boolean value) {
            writable = value;
            router.onWritabilityChanged(this);
        }

        List<Long> seenIds() {
            List<Long> ids = new ArrayList<>();
            for (Frame frame : written) {
                if (frame.hasDeliver()) {
                    ids.add(frame.getDeliver().getServerMessageId());
                } else if (frame.hasReceipt()) {
                    ids.add(frame.getReceipt().getServerMessageId());
                }
            }
            return ids;
        }

        @Override
        public long id() {
            return id;
        }

        @Override
        public String transport() {
            return "fuzz";
        }

        @Override
        public SocketAddress remoteAddress() {
            return new InetSocketAddress("127.0.0.1", (int) (40_000 + id % 20_000));
        }

        @Override
        public int maxFrameBytes() {
            return MAX_FRAME_BYTES;
        }

        @Override
        public void write(Frame frame) {
            if (!onThread("write")) {
                return;
            }
            handed.add(frame);
            if (!closing.get()) {
                written.add(frame);
                if (frame.hasWelcome()) {
                    user = frame.getWelcome().getUser();
                }
            }
        }

        @Override
        public void flush() {
            onThread("flush");
        }

        @Override
        public boolean isWritable() {
            return writable;
        }

        @Override
        public boolean isOpen() {
            return !closing.get();
        }

        /** As a transport closes: at once for writes, and onClose later on the I/O thread. */
        @Override
        public void close() {
            closing.set(true);
            if (open.compareAndSet(true, false)) {
                io.execute(() -> router.onClose(this));
            }
        }

        /** The error is the last frame written; anything written after it is dropped. */
        @Override
        public void closeWithError(Error error) {
            if (closing.compareAndSet(false, true)) {
                Frame frame = Frame.newBuilder().setError(error.toBuilder().setFatal(true)).build();
                io.execute(() -> {
                    handed.add(frame);
                    written.add(frame);
                });
                io.execute(this::close);
            }
        }

        @Override
        public Executor executor() {
            return io;
        }

        @Override
        public boolean inExecutor() {
            return io.inThread();
        }

        @Override
        public Object attachment() {
            return attachment;
        }

        @Override
        public void attach(Object attachment) {
            onThread("attach");
            this.attachment = attachment;
        }

        private boolean onThread(String call) {
            if (!io.inThread()) {
                offThread.add(call + " on " + Thread.currentThread().getName());
                return false;
            }
            return true;
        }

        @Override
        public String toString() {
            return "connection #" + id + (user == null ? "" : " of " + user);
        }
    }
}
