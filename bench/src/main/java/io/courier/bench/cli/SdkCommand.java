package io.courier.bench.cli;

import io.courier.bench.sut.CourierServerProcess;
import io.courier.client.CourierClient;
import io.courier.client.CourierListener;
import io.courier.client.Message;
import io.courier.client.MessageState;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One client SDK over TCP to a local server on RocksDB with fsync: how many messages a second go
 * from {@code send} (the local SQLite commit included) to SENT (the server's single tick).
 */
@Command(name = "sdk", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "One client SDK over TCP to a local server on RocksDB with fsync: messages/s from send to SENT.")
final class SdkCommand implements Callable<Integer> {

    @Option(names = "--messages", description = "Messages to send (default: ${DEFAULT-VALUE}).")
    int messages = 20_000;

    @Option(names = "--payload-bytes", description = "Payload size (default: ${DEFAULT-VALUE}).")
    int payloadBytes = 64;

    @Option(names = "--max-in-flight", description = "The SDK's maxInFlight (default: ${DEFAULT-VALUE}).")
    int maxInFlight = 256;

    @Option(names = "--storage", description = "The server's storage: rocksdb (with sync) or memory, to see the client's own ceiling (default: ${DEFAULT-VALUE}).")
    String storage = "rocksdb";

    @Option(names = "--async", description = "Send with sendAsync (shared local commits) instead of send.")
    boolean async;

    @Option(names = "--dir", description = "Where the server's data and the client's database go (default: a new temporary folder).")
    Path dir;

    @Override
    public Integer call() throws Exception {
        if (messages < 1 || payloadBytes < 0 || maxInFlight < 1) {
            throw new IllegalArgumentException("--messages and --max-in-flight must be at least 1, --payload-bytes at least 0");
        }
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("courier-bench-sdk");
        CountDownLatch sent = new CountDownLatch(messages);
        CourierListener counter = new CourierListener() {
            @Override
            public void onStateChanged(Message m) {
                if (m.state() == MessageState.SENT) {
                    sent.countDown();
                }
            }
        };
        try (CourierServerProcess server = CourierServerProcess.start("tcp", storage, List.of("-Xmx1g"),
            storage.equals("rocksdb") ? List.of("storage.options.sync=true", "router.inbox-max-messages=100000000")
                : List.of("router.inbox-max-messages=100000000"), work);
             CourierClient client = CourierClient.builder().server(URI.create(server.address())).user("sender")
                 .token(() -> "").database(work.resolve("sender.db")).maxInFlight(maxInFlight)
                 // The benchmark's server lifts its rate limits; so does the client.
                 .frameRate(Integer.MAX_VALUE, Integer.MAX_VALUE)
                 .listener(counter).build()) {
            byte[] payload = new byte[payloadBytes];
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                if (async) {
                    client.sendAsync("receiver", "application/octet-stream", payload);
                } else {
                    client.send("receiver", "application/octet-stream", payload);
                }
            }
            long queued = System.nanoTime();
            if (!sent.await(10, TimeUnit.MINUTES)) {
                System.out.println("Only " + (messages - sent.getCount()) + " of " + messages + " SENT within 10 minutes");
                return 1;
            }
            long done = System.nanoTime();
            System.out.printf("sdk: %d messages of %d bytes, maxInFlight %d, %s, TCP, storage %s%n", messages,
                payloadBytes, maxInFlight, async ? "sendAsync" : "send", storage.equals("rocksdb") ? "rocksdb with sync" : storage);
            System.out.printf(async ? "  sendAsync() returned for all in %.2f s: %.0f messages/s queued%n" : "  send() returned for all in %.2f s: %.0f messages/s stored locally%n",
                (queued - start) / 1e9, messages / ((queued - start) / 1e9));
            System.out.printf("  all SENT in %.2f s: %.0f messages/s from send to SENT%n", (done - start) / 1e9,
                messages / ((done - start) / 1e9));
            return 0;
        }
    }
}
