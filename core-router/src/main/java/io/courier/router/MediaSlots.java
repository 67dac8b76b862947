package io.courier.router;

import io.courier.transport.proto.Frame;
import io.courier.transport.proto.MediaRef;
import io.courier.transport.proto.MediaSlotRequest;

/**
 * The media service as the router sees it, injected by the server. Without one, a
 * {@code MediaSlotRequest} is answered with a non-fatal {@code UNSUPPORTED}. Both methods are
 * called on a transport's I/O thread and must not block.
 */
public interface MediaSlots {

    /**
     * The answer to {@code request} from {@code user}: a frame carrying a {@code MediaSlot}, or an
     * error frame, with {@code requestId}.
     */
    Frame slot(String user, MediaSlotRequest request, long requestId);

    /** A Send from {@code sender} carrying {@code media} was accepted (so cleanup keeps its blob). */
    void referenced(String sender, MediaRef media);
}
