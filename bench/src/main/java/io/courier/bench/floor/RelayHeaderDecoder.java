package io.courier.bench.floor;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a relay connection's header ({@link RelayProtocol}), then hands the connection to a
 * {@link RelayLinkHandler} and leaves the pipeline: after the header, no byte is decoded again.
 * An unknown role is a protocol violation and closes the connection.
 */
final class RelayHeaderDecoder extends ByteToMessageDecoder {

    private static final Logger LOG = LoggerFactory.getLogger(RelayHeaderDecoder.class);

    private final RelayPairs pairs;

    RelayHeaderDecoder(RelayPairs pairs) {
        this.pairs = pairs;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < RelayProtocol.HEADER_BYTES) {
            return;
        }
        byte role = in.readByte();
        int index = in.readInt();
        if (!RelayProtocol.isRole(role)) {
            LOG.warn("Relay connection from {} sent {} for pair {}; closing it", ctx.channel().remoteAddress(),
                RelayProtocol.roleName(role), index);
            in.skipBytes(in.readableBytes());
            ctx.close();
            return;
        }
        RelayLinkHandler link = new RelayLinkHandler(role, index, pairs);
        ctx.pipeline().replace(this, "relay-link", link);
        pairs.arrive(link);
    }
}
