package io.courier.bench.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.courier.bench.load.LoadSink;
import io.courier.bench.load.Pair;
import io.courier.bench.load.Payloads;
import io.courier.bench.load.Target;
import io.courier.bench.load.Targets;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MqttTargetTest {

    private static final int MESSAGES = 2_000;
    private static final LoadSink IGNORED = new CountingSink(0);

    private static Mosquitto broker;

    @BeforeAll
    static void startBroker() {
        broker = Mosquitto.start();
    }

    @AfterAll
    static void stopBroker() {
        broker.close();
    }

    @Test
    void shouldReceiveAndAcceptEveryMessageExactlyOnce() throws Exception {
        CountingSink sink = new CountingSink(MESSAGES);
        try (Target target = Targets.open(broker.address(), Map.of("user-prefix", "exactly-once"))) {
            Pair first = target.openPair(0, sink).get(10, TimeUnit.SECONDS);
            Pair second = target.openPair(1, sink).get(10, TimeUnit.SECONDS);

            long stamp = 0;
            for (int i = 0; i < MESSAGES; i++) {
                // Unique stamps, so a message counted twice cannot hide behind another's.
                stamp = Math.max(System.nanoTime(), stamp + 1);
                (i % 2 == 0 ? first : second).send(Payloads.create(100, stamp));
            }

            assertThat(sink.allReceived.await(30, TimeUnit.SECONDS)).as("all received").isTrue();
            assertThat(sink.allAccepted.await(30, TimeUnit.SECONDS)).as("all accepted").isTrue();
            assertThat(sink.received).hasSize(MESSAGES).allSatisfy((at, count) -> assertThat(count).hasValue(1));
            assertThat(sink.accepted).hasSize(MESSAGES).allSatisfy((at, count) -> assertThat(count).hasValue(1));
            assertThat(sink.accepted.keySet()).isEqualTo(sink.received.keySet());
            first.close();
            second.close();
        }
        assertThat(sink.failures).isEmpty();
    }

    @Test
    void shouldBringEveryMessageBackOnceInARoundTripCountingOnlyTheFirstLegsPubAck() throws Exception {
        CountingSink sink = new CountingSink(MESSAGES);
        try (Target target = Targets.open(broker.address(), Map.of("user-prefix", "round-trip", "rtt", "true"));
             Pair pair = target.openPair(0, sink).get(10, TimeUnit.SECONDS)) {
            long stamp = 0;
            for (int i = 0; i < MESSAGES; i++) {
                stamp = Math.max(System.nanoTime(), stamp + 1);
                pair.send(Payloads.create(100, stamp));
            }

            assertThat(sink.allReceived.await(30, TimeUnit.SECONDS)).as("every reply back at the sender").isTrue();
            assertThat(sink.allAccepted.await(30, TimeUnit.SECONDS)).as("every first leg acknowledged").isTrue();
            assertThat(sink.received).hasSize(MESSAGES).allSatisfy((at, count) -> assertThat(count).hasValue(1));
            assertThat(sink.accepted.keySet()).isEqualTo(sink.received.keySet());
        }
        // Each stamp accepted once: the reply's PUBACK to the receiver is no tick of the sender's.
        assertThat(sink.accepted).allSatisfy((at, count) -> assertThat(count).hasValue(1));
        assertThat(sink.failures).isEmpty();
    }

    @Test
    void shouldDeliverAtQosZeroWithoutAcceptedTicks() throws Exception {
        CountingSink sink = new CountingSink(10);
        try (Target target = MqttTarget.open(broker.address(), Map.of("user-prefix", "qos0", "qos", "0"));
             Pair pair = target.openPair(0, sink).get(10, TimeUnit.SECONDS)) {
            for (int i = 0; i < 10; i++) {
                pair.send(Payloads.create(Payloads.MIN_SIZE, i));
            }

            assertThat(sink.allReceived.await(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(sink.accepted).isEmpty();
        assertThat(sink.failures).isEmpty();
    }

    @Test
    void shouldHoldIdleConnectionsPastSeveralKeepAlivePeriods() throws Exception {
        // A one-second keep-alive: without PINGREQs mosquitto 2.0.11 drops a silent client within
        // about 5 s (it checks keep-alives every few seconds, not every 1.5 s), so watch for 8.
        try (MqttTarget target = MqttTarget.open(broker.address(), Map.of("user-prefix", "idle", "keep-alive", "1"))) {
            List<CompletableFuture<AutoCloseable>> opening = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                opening.add(target.openIdle(i));
            }
            List<MqttTarget.IdleConnection> idle = new ArrayList<>();
            for (CompletableFuture<AutoCloseable> connection : opening) {
                idle.add((MqttTarget.IdleConnection) connection.get(10, TimeUnit.SECONDS));
            }

            await().during(Duration.ofSeconds(8)).atMost(Duration.ofSeconds(15))
                .until(() -> idle.stream().allMatch(MqttTarget.IdleConnection::isOpen));
            for (AutoCloseable connection : idle) {
                connection.close();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> idle.stream().noneMatch(MqttTarget.IdleConnection::isOpen));
        }
    }

    @Test
    void shouldNameTheAddressWhenNothingListens() throws Exception {
        String address = "mqtt://127.0.0.1:" + unusedPort();
        try (Target target = MqttTarget.open(address, Map.of())) {
            assertThatThrownBy(() -> target.openPair(0, IGNORED).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasMessageContaining("Cannot connect to MQTT broker " + address);
            assertThatThrownBy(() -> target.openIdle(0).get(10, TimeUnit.SECONDS))
                .hasMessageContaining("Cannot connect to MQTT broker " + address);
        }
    }

    @Test
    void shouldNameTheAddressAndTheCodeWhenTheBrokerRefusesTheConnection() throws Exception {
        try (ScriptedBroker refusing = new ScriptedBroker(5, 1);
             Target target = MqttTarget.open(refusing.address(), Map.of())) {
            assertThatThrownBy(() -> target.openIdle(0).get(10, TimeUnit.SECONDS))
                .hasMessageContaining("MQTT broker " + refusing.address())
                .hasMessageContaining("CONNECTION_REFUSED_NOT_AUTHORIZED");
        }
    }

    @Test
    void shouldFailThePairWhenTheSubscriptionIsNotGrantedAtQosOne() throws Exception {
        try (ScriptedBroker downgrading = new ScriptedBroker(0, 0x80);
             Target target = MqttTarget.open(downgrading.address(), Map.of())) {
            assertThatThrownBy(() -> target.openPair(0, IGNORED).get(10, TimeUnit.SECONDS))
                .hasMessageContaining("MQTT broker " + downgrading.address())
                .hasMessageContaining("granted QoS [128]");
        }
    }

    @Test
    void shouldReportALostReceiverButNotAClosedPair() throws Exception {
        CountingSink sink = new CountingSink(1);
        AtomicInteger index = new AtomicInteger(100);
        try (Target target = MqttTarget.open(broker.address(), Map.of("user-prefix", "lost"))) {
            Pair closed = target.openPair(index.getAndIncrement(), sink).get(10, TimeUnit.SECONDS);
            closed.close();
            // A second session with the receiver's client id makes the broker drop the first.
            Pair open = target.openPair(index.get(), sink).get(10, TimeUnit.SECONDS);
            try (Target thief = MqttTarget.open(broker.address(), Map.of("user-prefix", "lost"))) {
                thief.openPair(index.get(), IGNORED).get(10, TimeUnit.SECONDS);
                await().atMost(Duration.ofSeconds(10)).until(() -> !sink.failures.isEmpty());
            }
            open.close();
        }
        assertThat(sink.failures).singleElement().asString()
            .contains("MQTT pair 101 on " + broker.address()).contains("connection closed");
    }

    @Test
    void shouldRejectAnAddressOrOptionNamingIt() {
        assertThatThrownBy(() -> MqttTarget.open("mqtt://localhost", Map.of()))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'mqtt://localhost'");
        assertThatThrownBy(() -> MqttTarget.open("mqtt://localhost:1883", Map.of("qos", "2")))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'qos'").hasMessageContaining("'2'");
    }

    private static int unusedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
