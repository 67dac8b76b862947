package io.courier.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.transport.proto.Error;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TransportOptionsTest {

    @Test
    void shouldDefaultTheUnreadOutputLimitToFourMebibytes() {
        assertThat(TransportOptions.maxUnreadOutputBytes(TransportSettings.of(0), 65_536)).isEqualTo(4 * 1024 * 1024);
    }

    @Test
    void shouldRefuseALimitThatAFrameAboveTheHighWaterMarkWouldPassNamingBoth() {
        TransportSettings settings = new TransportSettings("127.0.0.1", 0, 1_052_672,
            Map.of("max-unread-output-bytes", "1000000"));
        assertThatThrownBy(() -> TransportOptions.maxUnreadOutputBytes(settings, 65_536))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessage("Option 'max-unread-output-bytes' (1000000) must be at least 1118208: the high-water mark "
                + "(65536) plus max-frame-bytes (1052672), or a client that reads would be closed");
    }

    @Test
    void shouldNameTheTransportsKeyAndTheNumbersInTheSlowConsumerError() {
        Error error = Frames.slowConsumer("ws", 4_200_000, 4_194_304);
        assertThat(error.getCode()).isEqualTo(Error.Code.SLOW_CONSUMER);
        assertThat(error.getFatal()).isTrue();
        assertThat(error.getText()).isEqualTo("You stopped reading: 4200000 bytes waiting to be sent to you, above "
            + "the limit of 4194304 (transports.ws.options.max-unread-output-bytes); reconnect and read what you are sent");
    }
}
