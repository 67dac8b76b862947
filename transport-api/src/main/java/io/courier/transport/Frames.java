package io.courier.transport;

import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;

/** Small factories for frames that every transport and the router build. */
public final class Frames {

    private Frames() {
    }

    /** An error frame with a code and a text that names the offending thing. */
    public static Frame error(Error.Code code, String text) {
        return Frame.newBuilder().setError(errorBody(code, text, false)).build();
    }

    /** The error body, for {@link Connection#closeWithError} ({@code fatal} set there). */
    public static Error errorBody(Error.Code code, String text, boolean fatal) {
        return Error.newBuilder().setCode(code).setText(text).setFatal(fatal).build();
    }
}
