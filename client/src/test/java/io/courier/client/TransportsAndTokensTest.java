package io.courier.client;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TransportsAndTokensTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"udp", "ws", "longpoll"})
    void shouldChatOverEveryTransportTheAddressSchemeNames(String transport) throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            URI address = server.server().address(transport);
            try (CourierClient alice = Clients.builder(address, "alice", server.tokens("alice"), dir.resolve("alice.db"),
                     new Recorder()).build();
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder())) {
                String id = alice.sendText("bob", "over " + address.getScheme());
                await().atMost(30, SECONDS).until(() -> alice.message(id).orElseThrow().state() == MessageState.DELIVERED);
                String reply = bob.sendText("alice", "back");
                await().atMost(30, SECONDS).until(() -> alice.history("bob").size() == 2);
                bob.markRead("alice");
                await().atMost(30, SECONDS).until(() -> alice.message(id).orElseThrow().state() == MessageState.READ);
                assertThat(Clients.texts(alice.history("bob"))).containsExactly("over " + address.getScheme(), "back");
                assertThat(bob.message(reply)).get().extracting(Message::state).isEqualTo(MessageState.DELIVERED);
            }
        }
    }

    @Test
    void shouldAskForANewTokenAfterTokenExpired() throws Exception {
        try (TestServer server = new TestServer(dir).start()) {
            AtomicInteger asked = new AtomicInteger();
            String expired = server.expiredToken("alice");
            Supplier<String> tokens = () -> asked.incrementAndGet() == 1 ? expired : server.token("alice");
            try (CourierClient alice = Clients.builder(server.tcp(), "alice", tokens, dir.resolve("alice.db"),
                     new Recorder()).build();
                 CourierClient bob = Clients.open(server, "bob", dir.resolve("bob.db"), new Recorder())) {
                String id = alice.sendText("bob", "after a fresh token");
                await().atMost(30, SECONDS).until(() -> alice.message(id).orElseThrow().state() == MessageState.DELIVERED);
                assertThat(asked.get()).isGreaterThanOrEqualTo(2);
                assertThat(alice.status().state()).isEqualTo(ConnectionState.CONNECTED);
            }
        }
    }
}
