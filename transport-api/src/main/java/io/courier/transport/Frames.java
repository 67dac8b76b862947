package io.courier.transport;

import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;

/**
 * The one factory for error frames, shared by every transport and the router, and the one place
 * that bounds what an error text may echo of a client's input.
 *
 * <p>An error text names the offending thing, but anything a client supplied is quoted through
 * {@link #quote}: at most {@value #QUOTE_LIMIT} characters of it, then {@code "… (N chars)"}. A
 * client that sends a megabyte-long recipient gets a short error, not its megabyte back.
 */
public final class Frames {

    /** The most characters of client-supplied text an error text quotes. */
    public static final int QUOTE_LIMIT = 64;

    private Frames() {
    }

    /** An error frame with a code and a text that names the offending thing, about no frame in particular. */
    public static Frame error(Error.Code code, String text) {
        return Frame.newBuilder().setError(errorBody(code, text, false)).build();
    }

    /** A non-fatal error answering the frame whose {@code request_id} was {@code requestId}. */
    public static Frame error(Error.Code code, String text, long requestId) {
        return Frame.newBuilder().setError(Error.newBuilder().setCode(code).setText(text).setRequestId(requestId))
            .build();
    }

    /** A non-fatal error about a Send: nothing was stored for {@code clientMessageId}. */
    public static Frame sendError(Error.Code code, String text, String clientMessageId) {
        return Frame.newBuilder().setError(Error.newBuilder().setCode(code).setText(text)
            .setClientMessageId(clientMessageId)).build();
    }

    /** A non-fatal error about one id of a DeliveryAck or ReadReceipt. */
    public static Frame messageError(Error.Code code, String text, long serverMessageId) {
        return Frame.newBuilder().setError(Error.newBuilder().setCode(code).setText(text)
            .setServerMessageId(serverMessageId)).build();
    }

    /**
     * A non-fatal error that says when to try again ({@code retry_after_ms}): it answers the Send
     * {@code clientMessageId} when that is not empty, else the frame whose {@code request_id} was
     * {@code requestId}.
     */
    public static Frame retryAfter(Error.Code code, String text, long retryAfterMs, long requestId,
                                   String clientMessageId) {
        return Frame.newBuilder().setError(Error.newBuilder().setCode(code).setText(text).setRequestId(requestId)
            .setClientMessageId(clientMessageId).setRetryAfterMs(retryAfterMs)).build();
    }

    /** The error body, for {@link Connection#closeWithError} ({@code fatal} set there). */
    public static Error errorBody(Error.Code code, String text, boolean fatal) {
        return Error.newBuilder().setCode(code).setText(text).setFatal(fatal).build();
    }

    /** A fatal error body answering the frame whose {@code request_id} was {@code requestId}, for {@link Connection#closeWithError}. */
    public static Error fatal(Error.Code code, String text, long requestId) {
        return Error.newBuilder().setCode(code).setText(text).setRequestId(requestId).setFatal(true).build();
    }

    /**
     * The fatal error for a client that stopped reading: {@code waitingBytes} were queued toward it,
     * above {@code limitBytes}, the transport's {@code max-unread-output-bytes}.
     *
     * @param transport the transport's name, so the text names the key to change.
     */
    public static Error slowConsumer(String transport, long waitingBytes, long limitBytes) {
        return errorBody(Error.Code.SLOW_CONSUMER, "You stopped reading: " + waitingBytes
            + " bytes waiting to be sent to you, above the limit of " + limitBytes + " (transports." + transport
            + ".options." + TransportOptions.MAX_UNREAD_OUTPUT_BYTES.name() + "); reconnect and read what you are sent",
            true);
    }

    /**
     * Client-supplied text as an error text may quote it: in single quotes, and when longer than
     * {@value #QUOTE_LIMIT} characters cut there (never inside a surrogate pair) and followed by
     * {@code "… (N chars)"}, N being the whole length. {@code null} reads as empty.
     */
    public static String quote(String clientSupplied) {
        String text = clientSupplied == null ? "" : clientSupplied;
        if (text.length() <= QUOTE_LIMIT) {
            return "'" + text + "'";
        }
        int cut = Character.isHighSurrogate(text.charAt(QUOTE_LIMIT - 1)) ? QUOTE_LIMIT - 1 : QUOTE_LIMIT;
        return "'" + text.substring(0, cut) + "… (" + text.length() + " chars)'";
    }
}
