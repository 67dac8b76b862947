package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Receipt.Status;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: kill -9 loses nothing acknowledged. 20,000 messages among 50 sender/recipient pairs,
 * half of the recipients offline; the server process is killed at a random moment, restarted on
 * the same data, and everyone reconnects. Every accepted message is delivered in order, exactly
 * once after de-duplication by server id, and its receipts reach the sender.
 */
class CrashRecoveryTest {

    private static final int PAIRS = 50;
    private static final int PER_PAIR = 400;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"rocksdb", "postgres"})
    void shouldLoseNothingAcceptedWhenKilled(String backend) throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<String> overrides = new ArrayList<>(List.of("storage.backend=" + backend));
        if (backend.equals("postgres")) {
            overrides.addAll(PostgresForTests.overrides("crash_" + Long.toUnsignedString(seed, 36)));
        }
        try (ServerProcess server = new ServerProcess(dir, overrides.toArray(String[]::new)).start();
             TransportClient transport = TransportProviders.find("tcp").createClient(TransportSettings.of(0))) {
            List<TestClient> senders = new ArrayList<>();
            List<TestClient> recipients = new ArrayList<>();
            for (int i = 0; i < PAIRS; i++) {
                senders.add(client(transport, server, "sender" + i));
                recipients.add(client(transport, server, "recipient" + i));
            }
            for (TestClient s : senders) {
                s.connect();
            }
            for (int i = 0; i < PAIRS; i += 2) {
                recipients.get(i).connect(); // even recipients online, odd ones offline
            }

            int killAfter = 2_000 + random.nextInt(PAIRS * PER_PAIR - 4_000);
            ExecutorService sending = Executors.newSingleThreadExecutor();
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                for (int n = 0; n < PER_PAIR; n++) {
                    for (int i = 0; i < PAIRS; i++) {
                        senders.get(i).send("recipient" + i, id(i, n), "payload " + n);
                    }
                    // A bounded window keeps sends in flight without racing far ahead of the server.
                    int round = n;
                    await().atMost(60, SECONDS).until(() -> !senders.get(0).isOpen()
                        || totalAccepted(senders) >= (round - 20) * PAIRS);
                }
            }, sending);
            await().atMost(120, SECONDS).until(() -> totalAccepted(senders) >= killAfter);
            server.kill();
            sent.get(120, SECONDS);
            sending.shutdown();
            int acceptedBeforeCrash = totalAccepted(senders);
            int deliveredBeforeCrash = recipients.stream().mapToInt(TestClient::deliveredCount).sum();
            List<Set<String>> acceptedIdsBeforeCrash = senders.stream()
                .map(s -> (Set<String>) new HashSet<>(s.accepted.keySet())).toList();

            server.start();
            int resent = 0;
            for (int i = 0; i < PAIRS; i++) {
                TestClient sender = senders.get(i);
                sender.connect();
                for (int n = 0; n < PER_PAIR; n++) {
                    // Resend what has no single tick; also a few that do, to see the same server id come back.
                    if (!sender.accepted.containsKey(id(i, n)) || n % 97 == 0) {
                        sender.send("recipient" + i, id(i, n), "payload " + n);
                        resent++;
                    }
                }
            }
            for (TestClient r : recipients) {
                r.connect();
            }
            await().atMost(180, SECONDS).until(() -> recipients.stream().allMatch(r -> r.deliveredCount() >= PER_PAIR));
            await().atMost(180, SECONDS).until(() -> senders.stream().allMatch(CrashRecoveryTest::allDelivered));

            int redeliveriesSuppressed = 0;
            for (int i = 0; i < PAIRS; i++) {
                TestClient sender = senders.get(i);
                int pair = i;
                List<String> expected = IntStream.range(0, PER_PAIR).mapToObj(n -> id(pair, n)).toList();
                List<Deliver> got = recipients.get(i).deliveredSnapshot();
                assertThat(got).extracting(Deliver::getClientMessageId).as("recipient%d", i).containsExactlyElementsOf(expected);
                assertThat(got).extracting(Deliver::getServerMessageId).isSorted();
                for (String clientId : expected) {
                    assertThat(sender.accepted.get(clientId)).as(clientId).isNotEmpty()
                        .allMatch(id -> id.equals(sender.serverIdOf(clientId)));
                }
                // Whatever was accepted before the crash is among what arrived, under the same id.
                for (String clientId : acceptedIdsBeforeCrash.get(i)) {
                    assertThat(got).anyMatch(d -> d.getClientMessageId().equals(clientId)
                        && d.getServerMessageId() == sender.serverIdOf(clientId));
                }
                redeliveriesSuppressed += sender.accepted.values().stream().mapToInt(l -> l.size() - 1).sum();
            }
            System.out.printf("[%s] seed %d: killed after %d accepted (%d delivered); %d accepted before the crash; "
                    + "%d sends repeated after restart (%d answered with an existing server id); "
                    + "%d messages delivered in order exactly once, %d delivered receipts checked%n",
                backend, seed, killAfter, deliveredBeforeCrash, acceptedBeforeCrash, resent, redeliveriesSuppressed,
                PAIRS * PER_PAIR, PAIRS * PER_PAIR);
        }
    }

    private static TestClient client(TransportClient transport, ServerProcess server, String user) {
        return new TestClient(transport, server.address(), user, "1", Main.mint(server.config(), user, "*", Duration.ofHours(1)));
    }

    private static boolean allDelivered(TestClient sender) {
        if (sender.accepted.size() != PER_PAIR) {
            return false;
        }
        for (String clientId : sender.accepted.keySet()) {
            if (!sender.receiptsFor(sender.serverIdOf(clientId)).contains(Status.DELIVERED)) {
                return false;
            }
        }
        return true;
    }

    private static int totalAccepted(List<TestClient> senders) {
        return senders.stream().mapToInt(s -> s.accepted.size()).sum();
    }

    private static String id(int pair, int n) {
        return "p" + pair + "-" + n;
    }
}
