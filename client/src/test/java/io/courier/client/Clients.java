package io.courier.client;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/** Builders for test clients: short back-off, so a restarted server is found again quickly. */
final class Clients {

    private Clients() {
    }

    static CourierClient.Builder builder(URI server, String user, Supplier<String> token, Path db, CourierListener l) {
        return CourierClient.builder().server(server).user(user).token(token).database(db).listener(l)
            .backoff(Duration.ofMillis(20), Duration.ofMillis(500));
    }

    static CourierClient open(TestServer server, String user, Path db, CourierListener l) {
        return builder(server.tcp(), user, server.tokens(user), db, l).build();
    }

    static List<String> texts(List<Message> messages) {
        return messages.stream().map(Message::text).toList();
    }
}
