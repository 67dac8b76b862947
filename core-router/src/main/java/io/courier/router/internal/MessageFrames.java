package io.courier.router.internal;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.courier.storage.MessageKind;
import io.courier.storage.StoredMessage;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.Deliver;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.MediaRef;
import io.courier.transport.proto.Receipt;

/**
 * The frames the router builds from what it stores: a Deliver or Receipt per inbox entry, and
 * Accepted. Error frames come from {@link io.courier.transport.Frames}, the one factory for them.
 */
final class MessageFrames {

    private MessageFrames() {
    }

    /** The frame that hands {@code message} to a device: a Deliver, or a Receipt for receipts. */
    static Frame toFrame(StoredMessage message) {
        if (message.kind() == MessageKind.MESSAGE) {
            Deliver.Builder deliver = Deliver.newBuilder()
                .setServerMessageId(message.serverId())
                .setSender(message.sender().user())
                .setSenderDevice(message.sender().device())
                .setRecipient(message.recipient())
                .setClientMessageId(message.clientMessageId())
                .setAcceptedAtMs(message.timestampMs())
                .setContentType(message.contentType())
                .setPayload(ByteString.copyFrom(message.payload()));
            if (message.media().length > 0) {
                deliver.setMedia(parseMedia(message.media()));
            }
            return Frame.newBuilder().setDeliver(deliver).build();
        }
        return Frame.newBuilder().setReceipt(Receipt.newBuilder()
            .setServerMessageId(message.serverId())
            .setStatus(message.kind() == MessageKind.RECEIPT_READ ? Receipt.Status.READ : Receipt.Status.DELIVERED)
            .setMessageServerId(message.refServerId())
            .setMessageClientId(message.clientMessageId())
            .setByUser(message.sender().user())
            .setByDevice(message.sender().device())
            .setAtMs(message.timestampMs())).build();
    }

    static Frame accepted(String clientMessageId, long serverId, long acceptedAtMs) {
        return Frame.newBuilder().setAccepted(Accepted.newBuilder()
            .setClientMessageId(clientMessageId)
            .setServerMessageId(serverId)
            .setAcceptedAtMs(acceptedAtMs)).build();
    }

    private static MediaRef parseMedia(byte[] bytes) {
        try {
            return MediaRef.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            // Written by this router from a parsed MediaRef, so this means the store corrupted it.
            throw new IllegalStateException("Stored media reference does not decode", e);
        }
    }
}
