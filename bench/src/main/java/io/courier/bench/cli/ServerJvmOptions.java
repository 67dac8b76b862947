package io.courier.bench.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The JVM flags of the processes measured that are JVMs: Courier servers and floors. */
final class ServerJvmOptions {

    @Option(names = "--server-jvm-args", defaultValue = "-Xmx1g -XX:+UseG1GC -XX:+AlwaysPreTouch -Xms1g", split = " ",
        description = "The JVM flags of the Courier server and of the floors (default ${DEFAULT-VALUE}).")
    List<String> serverJvmArgs = new ArrayList<>();
}
