package io.courier.bench.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** How the Courier server under load is configured: its store and any other setting. */
final class ServerSettingsOptions {

    @Option(names = "--storage", defaultValue = "memory",
        description = "Courier's storage backend: memory, rocksdb or postgres (default ${DEFAULT-VALUE}).")
    String storage;

    @Option(names = "--set", description = "A Courier server setting, as its --set takes it "
        + "(e.g. storage.options.sync=false). Repeatable.")
    List<String> settings = new ArrayList<>();
}
