package io.courier.server.internal;

import io.courier.media.MediaService;
import io.courier.media.SlotAnswer;
import io.courier.router.MediaSlots;
import io.courier.transport.Frames;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.MediaRef;
import io.courier.transport.proto.MediaSlot;
import io.courier.transport.proto.MediaSlotRequest;

/** The media service answering the router's slot requests, in wire terms. */
public final class RouterMediaSlots implements MediaSlots {

    private final MediaService media;

    public RouterMediaSlots(MediaService media) {
        this.media = media;
    }

    @Override
    public Frame slot(String user, MediaSlotRequest request, long requestId) {
        SlotAnswer answer = media.slot(user, request.getContentType(), request.getSizeBytes(),
            request.getSha256().toByteArray());
        if (answer instanceof SlotAnswer.Granted g) {
            return Frame.newBuilder().setRequestId(requestId).setMediaSlot(MediaSlot.newBuilder()
                .setUploadUrl(g.uploadUrl()).setDownloadUrl(g.downloadUrl()).setExpiresAtMs(g.expiresAtMs())
                .setDownloadExpiresAtMs(g.downloadExpiresAtMs()).putAllUploadHeaders(g.uploadHeaders())).build();
        }
        SlotAnswer.Refused r = (SlotAnswer.Refused) answer;
        return switch (r.reason()) {
            case INVALID -> Frames.error(Error.Code.INVALID_ARGUMENT, r.text(), requestId);
            case TOO_LARGE -> Frames.error(Error.Code.PAYLOAD_TOO_LARGE, r.text(), requestId);
            case RATE_LIMITED -> Frames.retryAfter(Error.Code.RATE_LIMITED, r.text(), r.retryAfterMs(), requestId, "");
        };
    }

    @Override
    public void referenced(String sender, MediaRef media) {
        this.media.referenced(sender, media.getUrl());
    }
}
