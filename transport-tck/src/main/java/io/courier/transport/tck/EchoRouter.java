package io.courier.transport.tck;

import io.courier.transport.Connection;
import io.courier.transport.ConnectionHandler;
import io.courier.transport.Frames;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.Send;
import io.courier.transport.proto.Welcome;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The smallest router that exercises a transport: hello gets welcome, send gets accepted and is
 * forwarded as a deliver to the connection that said hello as the recipient. It keeps no storage,
 * so the kit tests the transport alone. Records every event for assertions.
 */
public final class EchoRouter implements ConnectionHandler {

    private final AtomicLong serverIds = new AtomicLong();
    private final Map<String, Connection> byUser = new ConcurrentHashMap<>();
    private final Map<Connection, String> users = new ConcurrentHashMap<>();
    final AtomicInteger opened = new AtomicInteger();
    final List<Connection> closed = new CopyOnWriteArrayList<>();
    final List<Error.Code> transportErrors = new CopyOnWriteArrayList<>();

    @Override
    public void onOpen(Connection connection) {
        opened.incrementAndGet();
    }

    @Override
    public void onFrame(Connection connection, Frame frame) {
        String user = users.get(connection);
        if (frame.hasHello()) {
            String name = frame.getHello().getUser();
            users.put(connection, name);
            byUser.put(name, connection);
            connection.send(Frame.newBuilder().setRequestId(frame.getRequestId()).setWelcome(Welcome.newBuilder()
                .setUser(name).setDevice(frame.getHello().getDevice())
                .setServerTimeMs(System.currentTimeMillis())).build());
        } else if (user == null) {
            connection.closeWithError(Frames.errorBody(Error.Code.NOT_AUTHENTICATED, "Say hello first", true));
        } else if (frame.getBodyCase() == Frame.BodyCase.BODY_NOT_SET) {
            connection.closeWithError(Frames.errorBody(Error.Code.MALFORMED_FRAME, "Frame has no body", true));
        } else if (frame.hasSend()) {
            Send send = frame.getSend();
            long id = serverIds.incrementAndGet();
            connection.send(Frame.newBuilder().setAccepted(Accepted.newBuilder()
                .setClientMessageId(send.getClientMessageId()).setServerMessageId(id)).build());
            Connection recipient = byUser.get(send.getRecipient());
            if (recipient != null) {
                recipient.send(Frame.newBuilder().setDeliver(Deliver.newBuilder().setServerMessageId(id)
                    .setSender(user).setRecipient(send.getRecipient()).setClientMessageId(send.getClientMessageId())
                    .setContentType(send.getContentType()).setPayload(send.getPayload())).build());
            }
        }
    }

    @Override
    public void onTransportError(Connection connection, Error.Code code, String detail) {
        transportErrors.add(code);
    }

    @Override
    public void onClose(Connection connection) {
        closed.add(connection);
        String user = users.remove(connection);
        if (user != null) {
            byUser.remove(user, connection);
        }
    }

    /** Closes the server side of {@code user}'s connection. */
    void closeUser(String user) {
        Connection connection = byUser.get(user);
        if (connection != null) {
            connection.close();
        }
    }
}
