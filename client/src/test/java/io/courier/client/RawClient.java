package io.courier.client;

import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.Send;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.awaitility.Awaitility;

/**
 * A client made of the wire classes alone, on a plain TCP socket (a varint32 length, then the
 * frame), for what the SDK would never send: a plaintext positive control, a captured ciphertext
 * replayed under another name, a key bundle with a forged signature.
 */
final class RawClient implements AutoCloseable {

    private final Socket socket;
    private final OutputStream out;
    private final AtomicLong requestIds = new AtomicLong();
    /** Every frame the server sent, in order. */
    final List<Frame> received = new CopyOnWriteArrayList<>();

    private RawClient(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        Thread reader = new Thread(this::readLoop, "raw-client-reader");
        reader.setDaemon(true);
        reader.start();
    }

    /** Connects to {@code port} on loopback as {@code user}/{@code device} and waits for Welcome. */
    static RawClient connect(int port, String user, String device, String token) throws IOException {
        RawClient c = new RawClient(new Socket(InetAddress.getLoopbackAddress(), port));
        c.send(Frame.newBuilder().setRequestId(c.requestIds.incrementAndGet())
            .setHello(Hello.newBuilder().setUser(user).setDevice(device).setToken(token).setClientAgent("raw-test")));
        c.await(Frame::hasWelcome);
        return c;
    }

    long nextRequestId() {
        return requestIds.incrementAndGet();
    }

    synchronized void send(Frame.Builder frame) throws IOException {
        frame.build().writeDelimitedTo(out);
        out.flush();
    }

    /** Sends {@code send} and waits for its Accepted (or fails on an Error naming it). */
    Frame sendAndAwaitAccepted(Send send) throws IOException {
        send(Frame.newBuilder().setSend(send));
        Frame answer = await(f -> f.hasAccepted() && f.getAccepted().getClientMessageId().equals(send.getClientMessageId())
            || f.hasError() && f.getError().getClientMessageId().equals(send.getClientMessageId()));
        if (answer.hasError()) {
            throw new IllegalStateException("The server refused " + send.getClientMessageId() + ": " + answer.getError());
        }
        return answer;
    }

    /**
     * Uploads {@code blob} as it is (no encryption) through a media slot and returns the slot, for
     * a positive control in the blob store.
     */
    io.courier.transport.proto.MediaSlot upload(byte[] blob, String contentType) throws Exception {
        long id = nextRequestId();
        byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(blob);
        send(Frame.newBuilder().setRequestId(id).setMediaSlotRequest(io.courier.transport.proto.MediaSlotRequest
            .newBuilder().setContentType(contentType).setSizeBytes(blob.length)
            .setSha256(com.google.protobuf.ByteString.copyFrom(sha))));
        Frame answer = await(f -> f.getRequestId() == id);
        if (!answer.hasMediaSlot()) {
            throw new IllegalStateException("No media slot: " + answer);
        }
        io.courier.transport.proto.MediaSlot slot = answer.getMediaSlot();
        java.net.http.HttpRequest.Builder put = java.net.http.HttpRequest.newBuilder(java.net.URI.create(slot.getUploadUrl()))
            .PUT(java.net.http.HttpRequest.BodyPublishers.ofByteArray(blob));
        slot.getUploadHeadersMap().forEach((k, v) -> {
            if (!k.equalsIgnoreCase("content-length") && !k.equalsIgnoreCase("host")) {
                put.header(k, v);
            }
        });
        java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient()
            .send(put.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new IllegalStateException("Upload refused: " + response.statusCode() + " " + response.body());
        }
        return slot;
    }

    /** The first frame received (so far or from now on) that matches, within 30 seconds. */
    Frame await(Predicate<Frame> which) {
        return Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(10, TimeUnit.MILLISECONDS)
            .until(() -> received.stream().filter(which).findFirst(), java.util.Optional::isPresent).orElseThrow();
    }

    private void readLoop() {
        try (InputStream in = socket.getInputStream()) {
            for (Frame f; (f = Frame.parseDelimitedFrom(in)) != null; ) {
                received.add(f);
            }
        } catch (IOException e) {
            // Closed by the test or by the server: nothing more to read.
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
