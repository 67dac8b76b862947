package io.courier.transport.udp;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.courier.transport.ClientConnection;
import io.courier.transport.TransportServer;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import io.courier.transport.tck.EchoRouter;
import io.courier.transport.udp.internal.UdpClient;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Over real sockets with a link that drops 10%, duplicates 5% and reorders datagrams in both
 * directions, every frame arrives exactly once and in order, small ones and ones spanning many
 * datagrams alike.
 */
class UdpLossyLinkTest {

    @Test
    void shouldDeliverEveryFrameOnceInOrderOverALossyLink() throws Exception {
        Map<String, String> options = Map.of("min-rto-ms", "20");
        TransportServer server = new UdpTransportProvider().createServer(
            new TransportSettings("127.0.0.1", 0, 256 * 1024, options), new EchoRouter());
        server.start();
        LossyLink aliceLink = new LossyLink(11);
        LossyLink bobLink = new LossyLink(12);
        TransportSettings client = new TransportSettings("127.0.0.1", 0, 256 * 1024, options);
        try (UdpClient aliceClient = new UdpClient(client, p -> p.addLast("lossy", aliceLink));
             UdpClient bobClient = new UdpClient(client, p -> p.addLast("lossy", bobLink))) {
            BlockingQueue<Frame> aliceFrames = new LinkedBlockingQueue<>();
            BlockingQueue<Frame> bobFrames = new LinkedBlockingQueue<>();
            ClientConnection alice = aliceClient.connect(server.address(), aliceFrames::add).get(30, SECONDS);
            ClientConnection bob = bobClient.connect(server.address(), bobFrames::add).get(30, SECONDS);
            alice.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser("alice")).build());
            bob.send(Frame.newBuilder().setHello(Hello.newBuilder().setUser("bob")).build());
            assertThat(aliceFrames.poll(30, SECONDS).hasWelcome()).isTrue();
            assertThat(bobFrames.poll(30, SECONDS).hasWelcome()).isTrue();

            int count = 5_000;
            long started = System.nanoTime();
            for (int i = 0; i < count; i++) {
                // Every 100th frame is 20 KB: seventeen datagrams to reassemble.
                int size = i % 100 == 0 ? 20_000 : 50;
                alice.send(Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId(Integer.toString(i))
                    .setRecipient("bob").setPayload(ByteString.copyFrom(new byte[size]))).build());
            }
            for (int i = 0; i < count; i++) {
                Frame deliver = bobFrames.poll(120, SECONDS);
                assertThat(deliver).as("frame %d", i).isNotNull();
                assertThat(deliver.getDeliver().getClientMessageId()).isEqualTo(Integer.toString(i));
                assertThat(deliver.getDeliver().getPayload().size()).isEqualTo(i % 100 == 0 ? 20_000 : 50);
            }
            for (int i = 0; i < count; i++) {
                Frame accepted = aliceFrames.poll(120, SECONDS);
                assertThat(accepted.getAccepted().getClientMessageId()).isEqualTo(Integer.toString(i));
            }
            assertThat(bobFrames.poll(200, TimeUnit.MILLISECONDS)).as("no duplicate after the last").isNull();
            List<Long> dropped = List.of(aliceLink.dropped.get(), bobLink.dropped.get());
            assertThat(dropped).allMatch(d -> d > 0);
            assertThat(aliceLink.duplicated.get() + bobLink.duplicated.get()).isPositive();
            assertThat(aliceLink.reordered.get() + bobLink.reordered.get()).isPositive();
            System.out.printf("%d frames over a lossy link in %d ms: dropped %s, duplicated %d, reordered %d%n", count,
                (System.nanoTime() - started) / 1_000_000, dropped, aliceLink.duplicated.get() + bobLink.duplicated.get(),
                aliceLink.reordered.get() + bobLink.reordered.get());
            alice.close();
            bob.close();
        } finally {
            server.close();
        }
    }
}
