package io.courier.transport.ws.internal;

import io.courier.transport.netty.ChannelConnection;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;

/** A WebSocket connection: after a fatal error it ends with the WebSocket closing handshake. */
final class WsConnection extends ChannelConnection {

    WsConnection(Channel channel, int maxFrameBytes) {
        super(channel, "ws", maxFrameBytes);
    }

    @Override
    protected void closeAfterError() {
        channel().writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.POLICY_VIOLATION, "courier error"))
            .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void close() {
        if (!isClosing()) {
            channel().writeAndFlush(new CloseWebSocketFrame(WebSocketCloseStatus.NORMAL_CLOSURE, "closed by server"));
        }
        super.close();
    }
}
