package io.courier.transport.tck;

import io.courier.transport.Connection;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.proto.Welcome;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The smallest router that exercises a transport, so the kit tests the transport alone (no
 * storage, no authentication):
 *
 * <ul>
 *   <li>{@code Hello} is answered with {@code Welcome} echoing the user and device;</li>
 *   <li>{@code Send} is answered with {@code Accepted} (server ids from one counter) and forwarded
 *       as a {@code Deliver} to every open connection whose hello named the recipient;</li>
 *   <li>any frame before hello is answered with a fatal {@code NOT_AUTHENTICATED}, a frame with no
 *       body with a fatal {@code MALFORMED_FRAME}, as the real router does; anything else is
 *       ignored;</li>
 *   <li>a {@code Send} whose content type is {@link #THROW_OUT_OF_DIRECT_MEMORY},
 *       {@link #THROW_STACK_OVERFLOW} or {@link #THROW_OUT_OF_HEAP} makes it throw that Error on the
 *       I/O thread.</li>
 * </ul>
 *
 * <p>It records what the transport told it ({@link #opened()}, {@link #closed()},
 * {@link #transportErrors()}, {@link #transportTimeouts()}, {@link #ioThreadErrors()}) and every
 * breach of the {@link ConnectionHandler} contract it can see ({@link #violations()}): a callback for which {@link Connection#inExecutor()} is false, or
 * that runs on another thread than the connection's {@code onOpen} ("every connection is served by
 * one I/O thread"), a task given to {@link Connection#executor()} that runs elsewhere, a callback
 * before {@code onOpen} or after {@code onClose}, a second {@code onOpen} or {@code onClose}.
 *
 * <p>Thread-safe: each connection's callbacks arrive on its own I/O thread, several connections'
 * concurrently, and tests read the records from yet another thread.
 */
public final class EchoRouter implements ConnectionHandler {

    /**
     * A {@code Send} with this content type makes the router throw, on the I/O thread, the
     * {@code OutOfMemoryError} the JDK throws when direct memory is exhausted: for tests of what a
     * transport does with an Error while it serves a connection.
     */
    public static final String THROW_OUT_OF_DIRECT_MEMORY = "courier-tck/throw-out-of-direct-memory";
    /** As {@link #THROW_OUT_OF_DIRECT_MEMORY}, with a {@code StackOverflowError}. */
    public static final String THROW_STACK_OVERFLOW = "courier-tck/throw-stack-overflow";
    /** As {@link #THROW_OUT_OF_DIRECT_MEMORY}, with the heap's {@code OutOfMemoryError}, which is not recoverable. */
    public static final String THROW_OUT_OF_HEAP = "courier-tck/throw-out-of-heap";

    private enum State { OPEN, CLOSED }

    private final AtomicLong serverIds = new AtomicLong();
    private final Map<Connection, State> states = new ConcurrentHashMap<>();
    private final Map<Connection, Thread> ioThreads = new ConcurrentHashMap<>();
    private final Map<Connection, String> users = new ConcurrentHashMap<>();
    private final Map<String, Set<Connection>> byUser = new ConcurrentHashMap<>();
    private final List<Connection> opened = new CopyOnWriteArrayList<>();
    private final List<Connection> closed = new CopyOnWriteArrayList<>();
    private final List<Error.Code> transportErrors = new CopyOnWriteArrayList<>();
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final List<String> transportTimeouts = new CopyOnWriteArrayList<>();
    private final List<Throwable> ioThreadErrors = new CopyOnWriteArrayList<>();

    /** Creates a router with no connections and nothing recorded. */
    public EchoRouter() {
    }

    @Override
    public void onOpen(Connection connection) {
        checkThread(connection, "onOpen");
        if (states.putIfAbsent(connection, State.OPEN) != null) {
            violations.add("onOpen called twice for " + connection);
            return;
        }
        ioThreads.put(connection, Thread.currentThread());
        opened.add(connection);
        connection.executor().execute(() -> checkThread(connection, "a task on executor()"));
    }

    @Override
    public void onFrame(Connection connection, Frame frame) {
        checkThread(connection, "onFrame");
        checkOpen(connection, "onFrame(" + frame.getBodyCase() + ")");
        String user = users.get(connection);
        if (user == null) {
            if (frame.hasHello()) {
                hello(connection, frame);
            } else {
                connection.closeWithError(Frames.errorBody(Error.Code.NOT_AUTHENTICATED,
                    "The first frame must be a hello; got " + frame.getBodyCase(), true));
            }
            return;
        }
        throwIfAsked(frame);
        switch (frame.getBodyCase()) {
            case SEND -> send(connection, user, frame.getSend());
            case BODY_NOT_SET -> connection.closeWithError(Frames.errorBody(Error.Code.MALFORMED_FRAME,
                "Frame has no body", true).toBuilder().setRequestId(frame.getRequestId()).build());
            default -> {
                // The kit sends nothing else; a real router would answer heartbeats, acks, ...
            }
        }
    }

    private static void throwIfAsked(Frame frame) {
        switch (frame.getSend().getContentType()) {
            case THROW_OUT_OF_DIRECT_MEMORY -> throw new OutOfMemoryError(
                "Cannot reserve 1048576 bytes of direct buffer memory (allocated: 67108864, limit: 67108864)");
            case THROW_STACK_OVERFLOW -> throw new StackOverflowError();
            case THROW_OUT_OF_HEAP -> throw new OutOfMemoryError("Java heap space");
            default -> {
                // an ordinary frame
            }
        }
    }

    private void hello(Connection connection, Frame frame) {
        Hello hello = frame.getHello();
        users.put(connection, hello.getUser());
        byUser.computeIfAbsent(hello.getUser(), u -> ConcurrentHashMap.newKeySet()).add(connection);
        connection.send(Frame.newBuilder().setRequestId(frame.getRequestId()).setWelcome(Welcome.newBuilder()
            .setUser(hello.getUser())
            .setDevice(hello.getDevice())
            .setSessionId(Long.toString(connection.id()))
            .setServerTimeMs(System.currentTimeMillis())).build());
    }

    private void send(Connection connection, String sender, Send send) {
        // Taking the id and forwarding on the sender's thread keeps one sender's messages in order
        // for each recipient: the order the kit checks.
        long id = serverIds.incrementAndGet();
        long now = System.currentTimeMillis();
        connection.send(Frame.newBuilder().setAccepted(Accepted.newBuilder()
            .setClientMessageId(send.getClientMessageId())
            .setServerMessageId(id)
            .setAcceptedAtMs(now)).build());
        Frame deliver = Frame.newBuilder().setDeliver(Deliver.newBuilder()
            .setServerMessageId(id)
            .setSender(sender)
            .setRecipient(send.getRecipient())
            .setClientMessageId(send.getClientMessageId())
            .setAcceptedAtMs(now)
            .setContentType(send.getContentType())
            .setPayload(send.getPayload())).build();
        for (Connection recipient : connectionsOf(send.getRecipient())) {
            recipient.send(deliver);
        }
    }

    @Override
    public void onWritabilityChanged(Connection connection) {
        checkThread(connection, "onWritabilityChanged");
        checkOpen(connection, "onWritabilityChanged");
    }

    @Override
    public void onTransportError(Connection connection, Error.Code code, String detail) {
        checkThread(connection, "onTransportError");
        checkOpen(connection, "onTransportError(" + code + ")");
        transportErrors.add(code);
    }

    @Override
    public void onTransportTimeout(String transport, SocketAddress remote, String detail) {
        transportTimeouts.add(detail);
    }

    @Override
    public void onIoThreadError(String transport, SocketAddress remote, Connection connection, Throwable error) {
        if (connection != null) {
            checkThread(connection, "onIoThreadError");
            checkOpen(connection, "onIoThreadError");
        }
        ioThreadErrors.add(error);
    }

    @Override
    public void onClose(Connection connection) {
        checkThread(connection, "onClose");
        if (!states.replace(connection, State.OPEN, State.CLOSED)) {
            violations.add("onClose for " + connection + " that was " + (states.containsKey(connection)
                ? "already closed" : "never opened"));
            return;
        }
        closed.add(connection);
        ioThreads.remove(connection);
        String user = users.remove(connection);
        if (user != null) {
            Set<Connection> connections = byUser.get(user);
            if (connections != null) {
                connections.remove(connection);
            }
        }
    }

    /** The open connections that said hello as {@code user}. */
    public Set<Connection> connectionsOf(String user) {
        return Set.copyOf(byUser.getOrDefault(user, Set.of()));
    }

    /** Closes, from the server side, every connection that said hello as {@code user}. */
    public void closeConnectionsOf(String user) {
        connectionsOf(user).forEach(Connection::close);
    }

    /** Every connection {@code onOpen} reported, in order. */
    public List<Connection> opened() {
        return List.copyOf(opened);
    }

    /** Every connection {@code onClose} reported, in order. */
    public List<Connection> closed() {
        return List.copyOf(closed);
    }

    /** The codes of every {@code onTransportError}, in order. */
    public List<Error.Code> transportErrors() {
        return List.copyOf(transportErrors);
    }

    /** The details of every {@code onTransportTimeout}, in order. */
    public List<String> transportTimeouts() {
        return List.copyOf(transportTimeouts);
    }

    /** What every {@code onIoThreadError} reported, in order. */
    public List<Throwable> ioThreadErrors() {
        return List.copyOf(ioThreadErrors);
    }

    /** Breaches of the {@link ConnectionHandler} contract seen so far; empty for a conforming transport. */
    public List<String> violations() {
        return List.copyOf(violations);
    }

    /**
     * Asks the connection, and also compares threads: a transport's {@code inExecutor()} could
     * agree with a wrong thread, and the thread is what the router's session state relies on.
     */
    private void checkThread(Connection connection, String callback) {
        if (!connection.inExecutor()) {
            violations.add(callback + " for " + connection + " ran on " + Thread.currentThread().getName()
                + " where inExecutor() is false");
        }
        Thread ioThread = ioThreads.get(connection);
        if (ioThread != null && ioThread != Thread.currentThread()) {
            violations.add(callback + " for " + connection + " ran on " + Thread.currentThread().getName()
                + ", not on its I/O thread " + ioThread.getName());
        }
    }

    private void checkOpen(Connection connection, String callback) {
        State state = states.get(connection);
        if (state != State.OPEN) {
            violations.add(callback + " for " + connection + (state == null ? " before onOpen" : " after onClose"));
        }
    }
}
