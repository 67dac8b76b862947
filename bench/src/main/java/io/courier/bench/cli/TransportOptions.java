package io.courier.bench.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Which of Courier's transports a command measures. */
final class TransportOptions {

    @Option(names = "--transports", split = ",", defaultValue = "tcp,udp,ws,longpoll",
        description = "Courier transports to measure (default ${DEFAULT-VALUE}; 'none' for none).")
    List<String> transports = new ArrayList<>();

    List<String> named() {
        return SystemSpec.named(transports);
    }
}
