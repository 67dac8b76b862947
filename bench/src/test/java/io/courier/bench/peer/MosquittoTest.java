package io.courier.bench.peer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MosquittoTest {

    @Test
    void shouldAcceptConnectionsOnItsAddressUntilClosed() throws IOException {
        long pid;
        try (Mosquitto broker = Mosquitto.start()) {
            pid = broker.pid();
            assertThat(broker.address()).isEqualTo("mqtt://127.0.0.1:" + broker.port());
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", broker.port()), 1_000);
            }
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).contains(true);
        }
        assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEqualTo(Optional.empty());
    }

    @Test
    void shouldRunWithTheSettingsOfTheCheckedInConfiguration() throws IOException {
        // Surefire runs in the module's directory, where the file a person uses lives.
        List<String> checkedIn = Files.readAllLines(Path.of("mosquitto.conf")).stream()
            .map(String::strip)
            .filter(line -> !line.isEmpty() && !line.startsWith("#"))
            .toList();

        assertThat(Mosquitto.settings(1883)).isEqualTo(checkedIn);
    }
}
