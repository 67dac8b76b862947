package io.courier.client;

import io.courier.transport.ClientConnection;
import io.courier.transport.TransportClient;
import io.courier.transport.TransportProviders;
import io.courier.transport.TransportSettings;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Hello;
import io.courier.transport.proto.KeyBundleFetch;
import io.courier.transport.proto.KeyBundles;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A bare protocol connection that fetches key bundles, to see what the server hands out. */
final class RawKeyClient implements AutoCloseable {

    private final TransportClient transport = TransportProviders.find("tcp").createClient(TransportSettings.of(0));
    private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
    private final ClientConnection connection;
    private long requestIds = 1;

    RawKeyClient(TestServer server, String user) throws Exception {
        connection = transport.connect(server.tcp(), frames::add).get(30, TimeUnit.SECONDS);
        connection.send(Frame.newBuilder().setRequestId(requestIds++).setHello(Hello.newBuilder().setUser(user)
            .setDevice("raw").setToken(server.token(user))).build());
        next(Frame.BodyCase.WELCOME, 0);
    }

    /** Fetches {@code user}'s bundles and waits for the answer. */
    KeyBundles fetch(String user) throws Exception {
        long id = requestIds++;
        connection.send(Frame.newBuilder().setRequestId(id).setKeyBundleFetch(KeyBundleFetch.newBuilder().setUser(user))
            .build());
        return next(Frame.BodyCase.KEY_BUNDLES, id).getKeyBundles();
    }

    private Frame next(Frame.BodyCase body, long requestId) throws Exception {
        while (true) {
            Frame f = frames.poll(30, TimeUnit.SECONDS);
            if (f == null) {
                throw new AssertionError("no " + body + " within 30 s");
            }
            if (f.getBodyCase() == Frame.BodyCase.ERROR) {
                throw new AssertionError("refused: " + f.getError());
            }
            if (f.getBodyCase() == body && (requestId == 0 || f.getRequestId() == requestId)) {
                return f;
            }
        }
    }

    @Override
    public void close() {
        connection.close();
        transport.close();
    }
}
