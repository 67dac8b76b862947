package io.courier.media;

import java.util.Map;

/** What a slot request gets: a {@link Granted} slot or a {@link Refused} request. */
public sealed interface SlotAnswer {

    /** URLs to PUT to (with {@code uploadHeaders}) and to GET from, each valid until its expiry. */
    record Granted(String uploadUrl, Map<String, String> uploadHeaders, String downloadUrl, long expiresAtMs,
                   long downloadExpiresAtMs) implements SlotAnswer {
        public Granted {
            uploadHeaders = Map.copyOf(uploadHeaders);
        }
    }

    /** Why not; {@code retryAfterMs} is set for {@link Reason#RATE_LIMITED}. */
    record Refused(Reason reason, String text, long retryAfterMs) implements SlotAnswer {
    }

    enum Reason { INVALID, TOO_LARGE, RATE_LIMITED }
}
