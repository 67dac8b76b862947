package io.courier.transport.longpoll;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.ClientListener;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.tck.EchoRouter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What the long-polling client promises beyond the conformance kit: its threads and its options. */
class LongPollClientTest {

    private TransportServer server;

    @BeforeEach
    void start() {
        server = new LongPollTransportProvider().createServer(TransportSettings.of(0), new EchoRouter());
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void shouldCallEachListenerOnOneThreadInOrderAndReleaseItsThreadsOnClose() throws Exception {
        int sessions = 5;
        int messages = 200;
        List<Recorder> recorders = new ArrayList<>();
        TransportClient client = new LongPollTransportProvider().createClient(TransportSettings.of(0));
        try {
            List<ClientConnection> connections = new ArrayList<>();
            for (int s = 0; s < sessions; s++) {
                Recorder recorder = new Recorder(messages + 1);
                recorders.add(recorder);
                ClientConnection connection = client.connect(server.address(), recorder).get(30, SECONDS);
                connections.add(connection);
                connection.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser("user-" + s).setDevice("1")).build());
            }
            // Sent from this thread while polls come back on the sessions' own threads.
            for (int i = 0; i < messages; i++) {
                for (ClientConnection connection : connections) {
                    connection.send(Frame.newBuilder().setSend(Send.newBuilder().setRecipient("nobody")
                        .setClientMessageId(Integer.toString(i)).setPayload(ByteString.copyFromUtf8("x"))).build());
                }
            }
            for (Recorder recorder : recorders) {
                assertThat(recorder.all.await(30, SECONDS)).as("welcome and every accepted within 30 s").isTrue();
                assertThat(recorder.outOfOrder.get()).as("accepted out of order").isZero();
            }
        } finally {
            client.close();
        }
        for (Recorder recorder : recorders) {
            assertThat(recorder.closes.get()).as("onClose calls once client.close() returned").isEqualTo(1);
            assertThat(recorder.threads).as("threads the listener was called on").hasSize(1);
        }
        for (Recorder recorder : recorders) {
            Thread thread = recorder.threads.iterator().next();
            thread.join(30_000);
            assertThat(thread.isAlive()).as("%s after client.close()", thread.getName()).isFalse();
        }
    }

    @Test
    void shouldRefuseANonPositiveOptionNamingTheKeyAndTheValue() {
        for (String key : List.of("max-connections", "threads")) {
            assertThatThrownBy(() -> new LongPollTransportProvider().createClient(
                new TransportSettings("127.0.0.1", 0, TransportSettings.DEFAULT_MAX_FRAME_BYTES, Map.of(key, "0"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'" + key + "'")
                .hasMessageContaining("'0'");
        }
    }

    /** Records the threads it is called on and checks accepted frames arrive in send order. */
    private static final class Recorder implements ClientListener {
        final Set<Thread> threads = ConcurrentHashMap.newKeySet();
        final CountDownLatch all;
        final AtomicInteger outOfOrder = new AtomicInteger();
        final AtomicInteger closes = new AtomicInteger();
        private int nextAccepted;

        Recorder(int frames) {
            all = new CountDownLatch(frames);
        }

        @Override
        public void onFrame(Frame frame) {
            threads.add(Thread.currentThread());
            if (frame.hasAccepted() && !frame.getAccepted().getClientMessageId().equals(Integer.toString(nextAccepted++))) {
                outOfOrder.incrementAndGet();
            }
            all.countDown();
        }

        @Override
        public void onClose() {
            threads.add(Thread.currentThread());
            closes.incrementAndGet();
        }
    }
}
