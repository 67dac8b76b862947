package io.courier.bench.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Floors measured in the same run as Courier (the {@code floor} command has its own default). */
final class FloorOptions {

    @Option(names = "--floors", split = ",", defaultValue = "none",
        description = "Floors to measure in the same run: relay, aeron-ipc, aeron-udp (default ${DEFAULT-VALUE}).")
    List<String> floors = new ArrayList<>();

    List<String> named() {
        return SystemSpec.named(floors);
    }
}
