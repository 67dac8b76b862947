package io.courier.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import org.junit.jupiter.api.Test;

class FramesTest {

    @Test
    void shouldQuoteShortInputWhole() {
        assertThat(Frames.quote("bob")).isEqualTo("'bob'");
        assertThat(Frames.quote("x".repeat(Frames.QUOTE_LIMIT))).isEqualTo("'" + "x".repeat(Frames.QUOTE_LIMIT) + "'");
        assertThat(Frames.quote(null)).isEqualTo("''");
    }

    @Test
    void shouldCutLongInputAtTheLimitAndSayHowLongItWas() {
        String quoted = Frames.quote("b".repeat(1_000_000));
        assertThat(quoted).isEqualTo("'" + "b".repeat(Frames.QUOTE_LIMIT) + "… (1000000 chars)'");
    }

    @Test
    void shouldNeverCutASurrogatePairInHalf() {
        // 63 ASCII characters, then an emoji (two chars) straddling the limit.
        String input = "a".repeat(Frames.QUOTE_LIMIT - 1) + "\uD83D\uDE00" + "tail";
        String quoted = Frames.quote(input);
        assertThat(quoted).isEqualTo("'" + "a".repeat(Frames.QUOTE_LIMIT - 1) + "… (" + input.length() + " chars)'");
        assertThat(quoted.chars().filter(c -> Character.isSurrogate((char) c))).isEmpty();
    }

    @Test
    void shouldBuildEachKindOfErrorWithWhatItRefersTo() {
        Frame request = Frames.error(Error.Code.INVALID_ARGUMENT, "bad", 7);
        assertThat(request.getError().getRequestId()).isEqualTo(7);
        assertThat(request.getError().getFatal()).isFalse();
        assertThat(Frames.sendError(Error.Code.OVERLOADED, "later", "c-1").getError().getClientMessageId()).isEqualTo("c-1");
        assertThat(Frames.messageError(Error.Code.UNKNOWN_MESSAGE, "no", 42).getError().getServerMessageId()).isEqualTo(42);
        Error fatal = Frames.fatal(Error.Code.PROTOCOL_VIOLATION, "twice", 3);
        assertThat(fatal.getFatal()).isTrue();
        assertThat(fatal.getRequestId()).isEqualTo(3);
        assertThat(Frames.errorBody(Error.Code.INTERNAL, "x", true).getFatal()).isTrue();
    }
}
