package io.courier.transport.tck;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import java.net.URI;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** One client connection in a conformance test: frames queue up, the test takes them in order. */
final class TckClient implements ClientListener {

    static final long TIMEOUT_SECONDS = 30;

    final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    final CompletableFuture<Void> closed = new CompletableFuture<>();
    ClientConnection connection;

    static TckClient connect(TransportClient client, URI address) throws Exception {
        TckClient tck = new TckClient();
        tck.connection = client.connect(address, tck).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        return tck;
    }

    /** Connects and says hello as {@code user}, returning once welcomed. */
    static TckClient hello(TransportClient client, URI address, String user) throws Exception {
        TckClient tck = connect(client, address);
        tck.connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser(user).setDevice("1")).build());
        Frame welcome = tck.next();
        assertThat(welcome.hasWelcome()).as("welcome, got %s", welcome).isTrue();
        assertThat(welcome.getWelcome().getUser()).isEqualTo(user);
        return tck;
    }

    static Frame send(String to, String clientId, ByteString payload) {
        return Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
            .setPayload(payload)).build();
    }

    Frame next() throws InterruptedException {
        Frame frame = frames.poll(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        assertThat(frame).as("a frame within %d s", TIMEOUT_SECONDS).isNotNull();
        return frame;
    }

    void awaitClosed() throws Exception {
        closed.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void onFrame(Frame frame) {
        frames.add(frame);
    }

    @Override
    public void onClose() {
        closed.complete(null);
    }
}
