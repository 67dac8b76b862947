package io.courier.server;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.courier.transport.proto.Error.Code;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.Send;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Acceptance: a client that floods the server with megabyte frames full of oversized fields and
 * never reads costs that client, never the others. Its sends (a recipient of a million
 * characters, a content type of forty thousand) are refused with short errors, but it also asks,
 * again and again, for a key bundle it published of nearly a megabyte, so the replies it does not
 * read pile up; once more than {@code max-unread-output-bytes} (here 2 MiB) wait, the server closes
 * it with SLOW_CONSUMER. Throughout, what waits for it stays under that limit and one frame, and
 * Netty's buffer memory under a fixed budget however much the flood pushes through; a bystander
 * pair keeps chatting with no error and no message delayed above a second; new clients connect
 * and say hello meanwhile; and what was acknowledged to others for the flooder is still in its
 * inbox when it comes back.
 */
class SlowConsumerTest {

    private static final int LIMIT = 2 * 1024 * 1024;
    private static final int KEY_BYTES = 900_000;
    /** Oversized sends before the key fetches start: about 100 MB in, each answered with a short error. */
    private static final int REFUSED_FIRST = 100;
    /**
     * The most Netty's buffers may grow while the flood goes on: the unread output (the limit and
     * the write that passed it), a frame being read and one being encoded, and the chunks the
     * allocator reserves around them. A fixed ceiling, a third of what the flood pushes through.
     */
    private static final long NETTY_BUDGET = 32L * 1024 * 1024;

    @TempDir
    Path dataDir;

    private ServerFixture fixture;
    private Bystanders bystanders;
    private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();

    @BeforeEach
    void start() throws Exception {
        LargeKeyBundle.store(dataDir, "mallory", KEY_BYTES);
        fixture = new ServerFixture(dataDir, "transports.tcp.options.max-unread-output-bytes=" + LIMIT);
        bystanders = new Bystanders(fixture, 20).start();
    }

    @AfterEach
    void stop() {
        sampler.shutdownNow();
        bystanders.close();
        fixture.close();
    }

    @Test
    void shouldCloseAClientThatFloodsOversizedFramesAndNeverReadsWithinItsLimitWhileOthersChat() throws Exception {
        int maxFrame = fixture.server.config().maxFrameBytes();
        ByteBufAllocatorMetric netty = ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
        long baseline = netty.usedDirectMemory() + netty.usedHeapMemory();
        AtomicLong peakUnread = new AtomicLong();
        AtomicLong peakNetty = new AtomicLong();
        sampler.scheduleAtFixedRate(() -> {
            peakUnread.accumulateAndGet(fixture.server.unreadOutputBytes("tcp"), Math::max);
            peakNetty.accumulateAndGet(netty.usedDirectMemory() + netty.usedHeapMemory(), Math::max);
        }, 0, 2, TimeUnit.MILLISECONDS);

        // Messages for mallory, single-ticked before she starts: the inbox keeps them whatever happens to her.
        TestClient frank = fixture.user("frank").connect();
        for (int i = 1; i <= 3; i++) {
            frank.send("mallory", "f-" + i, "for mallory " + i);
        }
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> frank.accepted.size() == 3);

        List<Frame> unread = new ArrayList<>();
        long helloDuringFloodMs;
        try (Socket mallory = new Socket()) {
            mallory.setReceiveBufferSize(16 * 1024);
            mallory.connect(new InetSocketAddress(fixture.tcp.getHost(), fixture.tcp.getPort()));
            mallory.setSoTimeout((int) SECONDS.toMillis(TestClient.TIMEOUT_SECONDS));
            OutputStream out = new BufferedOutputStream(mallory.getOutputStream(), 64 * 1024);
            InputStream in = new DataInputStream(mallory.getInputStream());
            Frame.newBuilder().setHello(Hello.newBuilder().setUser("mallory").setToken(fixture.token("mallory")))
                .build().writeDelimitedTo(out);
            out.flush();
            assertThat(Frame.parseDelimitedFrom(in).hasWelcome()).isTrue();
            // The last read until the end; then the flood, with fetches of her key bundle of nearly
            // a megabyte (stored before the server started).
            Frame oversized = Frame.newBuilder().setSend(Send.newBuilder().setClientMessageId("x")
                .setRecipient("r".repeat(1_000_000)).setContentType("t".repeat(40_000))).build();
            assertThat(oversized.getSerializedSize()).isBetween(1_000_000, maxFrame);
            Frame fetch = Frame.newBuilder().setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser("mallory")).build();

            AtomicBoolean flooding = new AtomicBoolean(true);
            AtomicBoolean fetching = new AtomicBoolean();
            CompletableFuture<Integer> flood = CompletableFuture.supplyAsync(() -> {
                int frames = 0;
                try {
                    for (; frames < REFUSED_FIRST; frames++) {
                        oversized.writeDelimitedTo(out);
                        out.flush();
                    }
                    fetching.set(true);
                    while (flooding.get() && frames < REFUSED_FIRST + 1_000) {
                        oversized.writeDelimitedTo(out);
                        fetch.writeDelimitedTo(out);
                        out.flush();
                        frames += 2;
                    }
                } catch (IOException closedUnderUs) {
                    // the server closed the connection while we wrote: the flood is over
                }
                return frames;
            });

            // A new client says hello while the flood goes on and replies pile up.
            await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> fetching.get()
                && fixture.server.unreadOutputBytes("tcp") > LIMIT / 2 || fixture.server.router().errorCount(Code.SLOW_CONSUMER) > 0);
            long helloStart = System.nanoTime();
            fixture.user("grace").connect();
            helloDuringFloodMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - helloStart);

            await().pollInterval(java.time.Duration.ofMillis(1)).atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() ->
                fixture.server.router().errorCount(Code.SLOW_CONSUMER) == 1);
            flooding.set(false);

            // What the server wrote and she did not read, then the error, then the end. At once:
            // the server closes 5 s after the error whether she has read it or not.
            Frame frame;
            while ((frame = Frame.parseDelimitedFrom(in)) != null) {
                unread.add(frame);
            }
            int frames = flood.get(TestClient.TIMEOUT_SECONDS, SECONDS);
            System.out.printf("slow consumer: closed after %d frames of up to %,d bytes%n", frames,
                oversized.getSerializedSize());
            assertThat((long) frames * oversized.getSerializedSize() / 2).as("the flood pushed more than the budget through")
                .isGreaterThan(NETTY_BUDGET);
        }
        sampler.shutdown();
        assertThat(sampler.awaitTermination(10, SECONDS)).isTrue();

        assertThat(unread).filteredOn(Frame::hasError).filteredOn(f -> f.getError().getCode() == Code.SLOW_CONSUMER)
            .singleElement().satisfies(frame -> {
                assertThat(frame.getError().getFatal()).isTrue();
                assertThat(frame.getError().getText()).contains("You stopped reading").contains(Integer.toString(LIMIT));
            });
        assertThat(unread).as("her oversized fields were refused with short errors, not echoed")
            .filteredOn(f -> f.hasError() && f.getError().getCode() == Code.INVALID_RECIPIENT)
            .allSatisfy(f -> assertThat(f.getSerializedSize()).isLessThan(512));

        // The server's memory for her: the unread output it measures, and Netty's buffers in all.
        long peakNettyGrowth = peakNetty.get() - baseline;
        System.out.printf("slow consumer: peak unread output %,d bytes (limit %,d); peak Netty buffer memory "
            + "%,d bytes above the %,d before%n", peakUnread.get(), LIMIT, peakNettyGrowth, baseline);
        assertThat(peakUnread.get()).as("unread output: the limit and the one write that passed it")
            .isLessThanOrEqualTo(LIMIT + maxFrame + 1024L);
        assertThat(peakNettyGrowth).as("Netty's buffers: a fixed budget, whatever went through")
            .isLessThanOrEqualTo(NETTY_BUDGET);

        // New clients get in at once; mallory herself comes back and finds what frank sent her.
        long helloStart = System.nanoTime();
        TestClient back = fixture.user("mallory").connect();
        long helloAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - helloStart);
        await().atMost(TestClient.TIMEOUT_SECONDS, SECONDS).until(() -> back.deliveredCount() == 3);
        assertThat(back.deliveredSnapshot()).extracting(d -> d.getClientMessageId()).containsExactly("f-1", "f-2", "f-3");

        System.out.printf("slow consumer: a hello during the flood took %d ms, after it %d ms%n", helloDuringFloodMs,
            helloAfterMs);
        bystanders.check();
        assertThat(Math.max(helloDuringFloodMs, helloAfterMs)).as("hello at once, during and after").isLessThan(1_000);
    }
}
