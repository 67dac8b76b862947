package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Error;
import io.courier.transport.proto.Error.Code;
import io.courier.transport.proto.Receipt.Status;
import java.net.DatagramSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connection limits, one transport and one rule at a time, on a real server with tiny limits:
 * a newcomer at a full limit pushes out the oldest connection that has not said hello, is refused
 * — in its transport's way, naming the limit — only when every connection has said hello, and a
 * bystander pair keeps chatting throughout.
 */
class ConnectionLimitsTest {

    @TempDir
    Path dataDir;

    private ServerFixture fixture;
    private TestClient dave;
    private TestClient erin;
    private final AtomicInteger bystanderMessages = new AtomicInteger();

    private void start(String... overrides) throws Exception {
        fixture = new ServerFixture(dataDir, overrides);
        dave = fixture.user("dave").connect();
        erin = fixture.user("erin").connect();
        bystandersStillChat();
    }

    @AfterEach
    void stop() throws Exception {
        if (fixture != null) {
            bystandersStillChat();
            fixture.close();
        }
    }

    @Test
    void shouldRefuseATcpNewcomerWithAnErrorNamingTheLimitWhenEveryConnectionSaidHello() throws Exception {
        start("limits.max-connections=3");
        try (Socket carol = RawConnections.socket("127.0.0.1", fixture.tcp)) {
            assertThat(RawConnections.hello(carol, "carol", fixture.token("carol")).hasWelcome()).isTrue();
            try (Socket late = RawConnections.socket("127.0.0.2", fixture.tcp)) {
                Error refusal = RawConnections.readFrame(late).getError();
                assertThat(refusal.getCode()).isEqualTo(Code.TOO_MANY_CONNECTIONS);
                assertThat(refusal.getFatal()).isTrue();
                assertThat(refusal.getText()).contains("maximum of 3 connections (limits.max-connections)");
                assertThat(RawConnections.readFrame(late)).as("closed after the refusal").isNull();
            }
            bystandersStillChat();
        }
        // A place given back is a place for the next newcomer.
        await().atMost(30, SECONDS).until(() -> fixture.server.admittedConnections() == 2);
        try (Socket next = RawConnections.socket("127.0.0.2", fixture.tcp)) {
            assertThat(RawConnections.hello(next, "frank", fixture.token("frank")).hasWelcome()).isTrue();
        }
        assertThat(count("courier.connections.refused", "max-connections", "tcp")).isEqualTo(1);
    }

    @Test
    void shouldEvictTheOldestConnectionThatSaidNoHelloToAdmitANewcomer() throws Exception {
        start("limits.max-connections=4");
        try (Socket silentTcp = RawConnections.socket("127.0.0.2", fixture.tcp)) {
            await().atMost(30, SECONDS).until(() -> fixture.server.admittedConnections() == 3);
            try (Socket silentWs = RawConnections.socket("127.0.0.3", fixture.server.address("ws"))) {
                await().atMost(30, SECONDS).until(() -> fixture.server.admittedConnections() == 4);

                try (Socket newcomer = RawConnections.socket("127.0.0.4", fixture.tcp)) {
                    assertThat(RawConnections.hello(newcomer, "carol", fixture.token("carol")).hasWelcome()).isTrue();
                    Error evicted = RawConnections.readFrame(silentTcp).getError();
                    assertThat(evicted.getCode()).isEqualTo(Code.TOO_MANY_CONNECTIONS);
                    assertThat(evicted.getText()).contains("limits.max-connections").contains("had not said hello");
                    assertThat(RawConnections.readFrame(silentTcp)).isNull();
                    bystandersStillChat();

                    // The next newcomer pushes out the next oldest: a WebSocket not upgraded yet gets a 503.
                    try (Socket another = RawConnections.socket("127.0.0.5", fixture.tcp)) {
                        assertThat(RawConnections.hello(another, "frank", fixture.token("frank")).hasWelcome()).isTrue();
                        String response = RawConnections.readToEnd(silentWs);
                        assertThat(response).startsWith("HTTP/1.1 503 Service Unavailable\r\n")
                            .contains("Content-Type: text/plain; charset=utf-8").contains("had not said hello");
                        // Everyone left has said hello: the next one is refused, and nobody signed in is touched.
                        try (Socket refused = RawConnections.socket("127.0.0.6", fixture.tcp)) {
                            assertThat(RawConnections.readFrame(refused).getError().getCode())
                                .isEqualTo(Code.TOO_MANY_CONNECTIONS);
                        }
                        assertThat(RawConnections.hello(newcomer, "carol", fixture.token("carol")).getError().getCode())
                            .as("carol's connection is still open and hers").isEqualTo(Code.PROTOCOL_VIOLATION);
                    }
                }
            }
        }
        assertThat(count("courier.connections.evicted", "max-connections", "tcp")).isEqualTo(1);
        assertThat(count("courier.connections.evicted", "max-connections", "ws")).isEqualTo(1);
    }

    @Test
    void shouldRefuseInEachTransportsOwnWayWhenTheLimitIsFull() throws Exception {
        start("limits.max-connections=3");
        try (Socket carol = RawConnections.socket("127.0.0.1", fixture.tcp)) {
            assertThat(RawConnections.hello(carol, "carol", fixture.token("carol")).hasWelcome()).isTrue();

            try (Socket ws = RawConnections.socket("127.0.0.2", fixture.server.address("ws"))) {
                RawConnections.upgrade(ws, fixture.server.address("ws"));
                String response = RawConnections.readToEnd(ws);
                assertThat(response).startsWith("HTTP/1.1 503 Service Unavailable\r\n").contains("Retry-After: 5")
                    .contains("maximum of 3 connections (limits.max-connections)");
            }

            URI longpoll = fixture.server.address("longpoll");
            HttpResponse<String> session = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(longpoll + "/sessions?format=json")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(session.statusCode()).isEqualTo(503);
            assertThat(session.body()).contains("\"TOO_MANY_CONNECTIONS\"").contains("limits.max-connections");

            try (DatagramSocket udp = RawConnections.datagramSocket("127.0.0.2")) {
                byte[] answer = RawConnections.udpHandshake(udp, fixture.server.address("udp"));
                assertThat(answer[0]).as("REJECT").isEqualTo((byte) 9);
                assertThat(answer.length).as("no larger than the HELLO2 it answers").isLessThanOrEqualTo(1200);
                assertThat(new String(answer, 9, answer.length - 9, StandardCharsets.UTF_8))
                    .contains("limits.max-connections");
            }
            bystandersStillChat();
        }
        assertThat(count("courier.connections.refused", "max-connections", "ws")).isEqualTo(1);
        assertThat(count("courier.connections.refused", "max-connections", "longpoll")).isEqualTo(1);
        assertThat(count("courier.connections.refused", "max-connections", "udp")).isEqualTo(1);
        assertThat(fixture.server.registry().scrape()).contains("courier_admitted_connections").contains(
            "courier_connection_limit 3.0");
    }

    @Test
    void shouldLimitConnectionsPerSourceAddressAndEvictOnlyThatAddresssSilentOnes() throws Exception {
        start("limits.max-connections-per-address=2");
        try (Socket a = RawConnections.socket("127.0.0.2", fixture.tcp);
             Socket b = RawConnections.socket("127.0.0.2", fixture.tcp)) {
            assertThat(RawConnections.hello(a, "carol", fixture.token("carol")).hasWelcome()).isTrue();
            assertThat(RawConnections.hello(b, "frank", fixture.token("frank")).hasWelcome()).isTrue();
            try (Socket c = RawConnections.socket("127.0.0.2", fixture.tcp)) {
                Error refusal = RawConnections.readFrame(c).getError();
                assertThat(refusal.getCode()).isEqualTo(Code.TOO_MANY_CONNECTIONS);
                assertThat(refusal.getText()).contains("Address 127.0.0.2 holds its maximum of 2 connections "
                    + "(limits.max-connections-per-address)");
            }
            try (Socket other = RawConnections.socket("127.0.0.3", fixture.tcp)) {
                assertThat(RawConnections.hello(other, "gina", fixture.token("gina")).hasWelcome()).isTrue();
            }
            try (Socket silent1 = RawConnections.socket("127.0.0.4", fixture.tcp)) {
                await().atMost(30, SECONDS).until(() -> fixture.server.admittedConnections() == 5);
                try (Socket silent2 = RawConnections.socket("127.0.0.4", fixture.tcp);
                     Socket third = RawConnections.socket("127.0.0.4", fixture.tcp)) {
                    Error evicted = RawConnections.readFrame(silent1).getError();
                    assertThat(evicted.getCode()).isEqualTo(Code.TOO_MANY_CONNECTIONS);
                    assertThat(evicted.getText()).contains("address 127.0.0.4").contains("had not said hello");
                    assertThat(RawConnections.hello(third, "hank", fixture.token("hank")).hasWelcome()).isTrue();
                }
            }
            bystandersStillChat();
        }
        assertThat(count("courier.connections.refused", "max-connections-per-address", "tcp")).isEqualTo(1);
        assertThat(count("courier.connections.evicted", "max-connections-per-address", "tcp")).isEqualTo(1);
    }

    @Test
    void shouldCloseAWebSocketThatNeverUpgradesAfterTheHelloTimeout() throws Exception {
        start("router.hello-timeout-ms=1000");
        try (Socket silent = RawConnections.socket("127.0.0.2", fixture.server.address("ws"))) {
            String response = RawConnections.readToEnd(silent);
            assertThat(response).startsWith("HTTP/1.1 408 Request Timeout\r\n").contains("No hello within 1000 ms");
        }
        assertThat(count("courier.connections.evicted", "no-hello", "ws")).isEqualTo(1);
        await().atMost(30, SECONDS).until(() -> fixture.server.admittedConnections() == 2);
    }

    private double count(String name, String reason, String transport) {
        var counter = fixture.server.registry().find(name).tag("reason", reason).tag("transport", transport).counter();
        return counter == null ? 0 : counter.count();
    }

    /** The bystanders exchange a message both ways and get their ticks. */
    private void bystandersStillChat() {
        int n = bystanderMessages.incrementAndGet();
        dave.send("erin", "d-" + n, "ping " + n);
        erin.send("dave", "e-" + n, "pong " + n);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> erin.deliveredCount() == n && dave.deliveredCount() == n);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() ->
            dave.receiptsFor(dave.serverIdOf("d-" + n)).contains(Status.DELIVERED)
                && erin.receiptsFor(erin.serverIdOf("e-" + n)).contains(Status.DELIVERED));
        assertThat(dave.isOpen()).isTrue();
        assertThat(erin.isOpen()).isTrue();
    }
}
