package io.courier.transport.ws.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.courier.transport.netty.ConnectionBridge;
import io.courier.transport.proto.Error;
import io.courier.transport.tck.EchoRouter;
import io.courier.transport.ws.WsTransportProvider;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Fuzzes the whole WebSocket server pipeline after a valid upgrade — Netty's frame decoder, the
 * optional permessage-deflate, the bounded reassembly, the Courier codec and the bridge to a
 * router ({@link EchoRouter}) — with any bytes a client could send. Whatever arrives, nothing may
 * be thrown out of the pipeline, the only failures the bridge may see are those the peer caused
 * ({@link ConnectionBridge#causedByPeer}: one log line, no stack trace, bad input reported to the
 * router), the {@code ConnectionHandler} contract holds (the router hears of the close once), every
 * byte the server sends is a well-formed server frame, and every buffer is released.
 *
 * <p>The input: a byte of flags (bit 0: the {@code courier.v1.json} sub-protocol; bit 1:
 * permessage-deflate on the server and offered by the client; bit 2: raw bytes), then either raw
 * reads — a byte {@code n}, then {@code n} bytes — or client frames the test masks and frames
 * itself: the frame's first byte (FIN, RSV and opcode, as on the wire), a big-endian 16-bit payload
 * length, the payload (masked with a zero key, so the payload bytes are what the fuzzer chose).
 * The last read or frame takes what is left. Committed inputs:
 * {@code WsServerPipelineFuzzTestInputs} beside this class under {@code src/test/resources}.
 */
class WsServerPipelineFuzzTest {

    private static final int MAX = 1024;
    private static final String PATH = "/ws";
    private static final ChannelGroup CHANNELS = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);

    @FuzzTest(maxDuration = "20s")
    void shouldAnswerAnyClientBytesAfterTheUpgradeWithoutFailingOrLeaking(byte[] input) {
        if (input.length == 0) {
            return;
        }
        boolean json = (input[0] & 1) != 0;
        boolean deflate = (input[0] & 2) != 0;
        boolean raw = (input[0] & 4) != 0;
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        EchoRouter router = new EchoRouter();
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new WsServerInitializer(PATH, MAX, Set.of("*"), deflate, router, new AtomicInteger(),
            CHANNELS));
        List<ByteBuf> fromServer = new ArrayList<>();

        channel.writeInbound(ascii(alloc, upgrade(json, deflate)));
        ByteBuf response = channel.readOutbound();
        assertThat(response.toString(StandardCharsets.US_ASCII)).startsWith("HTTP/1.1 101");
        response.release();
        List<Throwable> failures = new ArrayList<>();
        // Those the router must hear of: bytes decoded after it heard the close change nothing.
        List<Throwable> failuresWhileOpen = new ArrayList<>();
        channel.pipeline().addBefore("connection", "failures", new ChannelInboundHandlerAdapter() {
            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                failures.add(cause);
                if (router.closed().isEmpty()) {
                    failuresWhileOpen.add(cause);
                }
                ctx.fireExceptionCaught(cause);
            }
        });

        for (byte[] bytes : raw ? reads(input) : maskedFrames(input)) {
            if (!channel.isOpen()) {
                break;
            }
            channel.writeInbound(alloc.heapBuffer(bytes.length).writeBytes(bytes));
            channel.runPendingTasks();
            for (Object out; (out = channel.readOutbound()) != null; ) {
                fromServer.add((ByteBuf) out);
            }
        }

        assertThat(failures).as("failures the bridge saw").allMatch(ConnectionBridge::causedByPeer);
        // ... and the client's bad input reported to the router, which counts and logs it
        long badInput = failuresWhileOpen.stream().filter(failure -> !(failure instanceof PrematureChannelClosureException)).count();
        assertThat(router.transportErrors()).as("transport errors reported")
            .filteredOn(code -> code == Error.Code.MALFORMED_FRAME).hasSizeGreaterThanOrEqualTo((int) badInput);
        assertThat(router.violations()).as("breaches of the ConnectionHandler contract").isEmpty();
        assertServerFramesAreWellFormed(alloc, fromServer, deflate);
        channel.finishAndReleaseAll();
        assertThat(router.opened()).hasSize(1);
        assertThat(router.closed()).hasSize(1);
        assertThat(alloc.metric().usedHeapMemory() + alloc.metric().usedDirectMemory())
            .as("bytes of buffers never released").isZero();
    }

    /** Reads what the server sent as a client would: unmasked frames that decode. Releases them. */
    private static void assertServerFramesAreWellFormed(UnpooledByteBufAllocator alloc, List<ByteBuf> sent, boolean deflate) {
        EmbeddedChannel client = new EmbeddedChannel();
        client.config().setAllocator(alloc);
        client.pipeline().addLast(new WebSocket08FrameDecoder(WebSocketDecoderConfig.newBuilder()
            .expectMaskedFrames(false).allowExtensions(deflate).maxFramePayloadLength(4 * MAX)
            .closeOnProtocolViolation(false).build()));
        for (ByteBuf buf : sent) {
            client.writeInbound(buf);
        }
        for (Object frame; (frame = client.readInbound()) != null; ) {
            ReferenceCountUtil.release(frame);
        }
        client.checkException();
        client.finishAndReleaseAll();
    }

    private static String upgrade(boolean json, boolean deflate) {
        return "GET " + PATH + " HTTP/1.1\r\n"
            + "Host: 127.0.0.1\r\n"
            + "Upgrade: websocket\r\n"
            + "Connection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + "Sec-WebSocket-Version: 13\r\n"
            + "Sec-WebSocket-Protocol: " + (json ? WsTransportProvider.JSON : WsTransportProvider.PROTO) + "\r\n"
            + (deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : "")
            + "\r\n";
    }

    private static ByteBuf ascii(UnpooledByteBufAllocator alloc, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        return alloc.heapBuffer(bytes.length).writeBytes(bytes);
    }

    // ---------------------------------------------------------------- the input's layout

    private static List<byte[]> reads(byte[] input) {
        List<byte[]> reads = new ArrayList<>();
        int at = 1;
        while (at < input.length) {
            int length = Math.min(input[at] & 0xFF, input.length - at - 1);
            byte[] read = new byte[length];
            System.arraycopy(input, at + 1, read, 0, length);
            reads.add(read);
            at += 1 + length;
        }
        return reads;
    }

    /** Each frame as a client must send it: masked (with a zero key) and with its length encoded. */
    private static List<byte[]> maskedFrames(byte[] input) {
        List<byte[]> frames = new ArrayList<>();
        int at = 1;
        while (at < input.length) {
            int first = input[at] & 0xFF;
            int length = at + 2 < input.length ? ((input[at + 1] & 0xFF) << 8) | (input[at + 2] & 0xFF) : 0;
            int start = Math.min(at + 3, input.length);
            length = Math.min(length, input.length - start);
            int header = length < 126 ? 2 : 4;
            byte[] frame = new byte[header + 4 + length];
            frame[0] = (byte) first;
            if (length < 126) {
                frame[1] = (byte) (0x80 | length);
            } else {
                frame[1] = (byte) (0x80 | 126);
                frame[2] = (byte) (length >>> 8);
                frame[3] = (byte) length;
            }
            System.arraycopy(input, start, frame, header + 4, length);
            frames.add(frame);
            at = start + length;
            if (start == input.length) {
                break;
            }
        }
        return frames;
    }
}
