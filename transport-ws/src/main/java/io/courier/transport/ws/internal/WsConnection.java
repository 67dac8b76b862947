package io.courier.transport.ws.internal;

import io.courier.transport.netty.ChannelConnection;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;

/** A WebSocket connection: after a fatal error it ends with the WebSocket closing handshake. */
final class WsConnection extends ChannelConnection {

    WsConnection(Channel channel, int maxFrameBytes) {
        super(channel, "ws", maxFrameBytes);
    }

    /**
     * The close frame, then what TCP does after an error: stop sending and close once the peer
     * closes (its close frame answered) or the linger passes. Closing at once, with the peer's
     * frames still unread, would make the kernel reset the connection and could destroy the error
     * and the close frame before the peer read them.
     */
    @Override
    protected void closeAfterError() {
        channel().writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.POLICY_VIOLATION, "courier error"))
            .addListener(written -> super.closeAfterError());
    }

    @Override
    public void close() {
        if (!isClosing()) {
            channel().writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE, "closed by server"));
        }
        super.close();
    }
}
