package io.courier.transport.tck;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import java.net.URI;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One client connection in a conformance test. The transport's I/O thread queues what arrives;
 * the test thread takes it in order, waiting at most {@link #TIMEOUT_SECONDS} for each frame.
 */
final class TckClient implements ClientListener {

    /** How long a test waits for anything: generous, since a slow machine is not a failure. */
    static final long TIMEOUT_SECONDS = 30;

    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private final CompletableFuture<Void> listenerClosed = new CompletableFuture<>();
    private final AtomicInteger closeCalls = new AtomicInteger();
    private final AtomicInteger framesAfterClose = new AtomicInteger();
    private ClientConnection connection;

    private TckClient() {
    }

    /** A listener that is never connected, for connection attempts expected to fail. */
    static TckClient unconnected() {
        return new TckClient();
    }

    /** Opens a connection, without saying hello. */
    static TckClient connect(TransportClient client, URI address) throws Exception {
        TckClient tck = new TckClient();
        tck.connection = client.connect(address, tck).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        return tck;
    }

    /** Opens a connection and says hello as {@code user}, returning once welcomed. */
    static TckClient hello(TransportClient client, URI address, String user) throws Exception {
        TckClient tck = connect(client, address);
        tck.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice("1")).build());
        Frame welcome = tck.next(Frame.BodyCase.WELCOME);
        assertThat(welcome.getWelcome().getUser()).as("the welcomed user").isEqualTo(user);
        return tck;
    }

    ClientConnection connection() {
        return connection;
    }

    void send(Frame frame) {
        connection.send(frame);
    }

    void sendUnchecked(byte[] encodedFrame) {
        connection.sendUnchecked(encodedFrame);
    }

    /** The next frame from the server; fails the test if none arrives in time. */
    Frame next() throws InterruptedException {
        Frame frame = frames.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(frame).as("a frame from the server within %d s", TIMEOUT_SECONDS).isNotNull();
        return frame;
    }

    /** The next frame, which must have body {@code expected}. */
    Frame next(Frame.BodyCase expected) throws InterruptedException {
        Frame frame = next();
        assertThat(frame.getBodyCase()).as("the body of %s", frame).isEqualTo(expected);
        return frame;
    }

    /** The next frame, which must be a fatal error with {@code code}. */
    Error nextFatalError(Error.Code code) throws InterruptedException {
        Error error = next(Frame.BodyCase.ERROR).getError();
        assertThat(error.getCode()).as("the code of %s", error).isEqualTo(code);
        assertThat(error.getFatal()).as("fatal flag of %s", error).isTrue();
        return error;
    }

    /**
     * Waits until the connection is closed and checks the client side kept its promises: the close
     * future completed, the listener heard {@code onClose} exactly once and nothing after it.
     */
    void awaitClosed() throws Exception {
        connection.closeFuture().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        listenerClosed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(connection.isOpen()).as("isOpen() after the close").isFalse();
        assertThat(closeCalls.get()).as("ClientListener.onClose calls").isEqualTo(1);
        assertThat(framesAfterClose.get()).as("frames after ClientListener.onClose").isZero();
    }

    @Override
    public void onFrame(Frame frame) {
        if (closeCalls.get() > 0) {
            framesAfterClose.incrementAndGet();
        }
        frames.add(frame);
    }

    @Override
    public void onClose() {
        closeCalls.incrementAndGet();
        listenerClosed.complete(null);
    }
}
