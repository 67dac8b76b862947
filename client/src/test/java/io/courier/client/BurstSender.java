package io.courier.client;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A sending app, run in a child JVM by {@link SenderCrashTest}: sends messages {@code m0} to
 * {@code m(N-1)} to bob, carrying on after what its database already holds, prints {@code HALF}
 * when half are queued, and {@code DONE} once all are delivered (exit status 2 if not within two
 * minutes).
 */
public final class BurstSender {

    private BurstSender() {
    }

    public static void main(String[] args) throws InterruptedException {
        URI server = URI.create(args[0]);
        String token = args[1];
        Path db = Path.of(args[2]);
        int count = Integer.parseInt(args[3]);
        Object changed = new Object();
        CourierListener wake = new CourierListener() {
            @Override
            public void onStateChanged(Message message) {
                synchronized (changed) {
                    changed.notifyAll();
                }
            }
        };
        try (CourierClient alice = CourierClient.builder().server(server).user("alice").token(() -> token)
            .database(db).listener(wake).backoff(Duration.ofMillis(20), Duration.ofMillis(500)).build()) {
            int already = outgoing(alice).size();
            for (int i = already; i < count; i++) {
                alice.sendText("bob", "m" + i);
                if (i == count / 2) {
                    System.out.println("HALF");
                    System.out.flush();
                }
            }
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (!outgoing(alice).stream().allMatch(m -> m.state() == MessageState.DELIVERED)) {
                if (System.nanoTime() > deadline) {
                    System.out.println("NOT DELIVERED: " + alice.status());
                    System.exit(2);
                }
                synchronized (changed) {
                    changed.wait(200);
                }
            }
            System.out.println("DONE " + outgoing(alice).size());
        }
    }

    private static List<Message> outgoing(CourierClient client) {
        return client.history("bob").stream().filter(m -> m.direction() == Direction.OUTGOING).toList();
    }
}
