package io.courier.bench.sut;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A floor's middle process — the raw TCP relay or the Aeron relay — in its own JVM, in the place
 * the Courier server takes in a latency run, so the load has the same shape: sender → another
 * process → receiver.
 */
public final class FloorProcess extends ChildJvmSystem {

    /** The floors there are. */
    public static final List<String> KINDS = List.of("relay", "aeron-ipc", "aeron-udp");

    private FloorProcess(String kind, String address, ChildProcess child, List<String> jvmArgs) {
        super(kind, Kind.FLOOR, address, child, Map.of("floor", kind, "jvmArgs", jvmArgs));
    }

    public static FloorProcess start(String kind, List<String> jvmArgs, Path dir) throws IOException {
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("Unknown floor '" + kind + "': use " + KINDS);
        }
        List<String> command = JavaCommand.of(jvmArgs, "io.courier.bench.floor.FloorServer", kind);
        ChildProcess child = ChildProcess.start(command, dir.resolve("floor-" + kind + ".log"),
            line -> line.startsWith("READY "), 60);
        String address = child.readyLine(line -> line.startsWith("READY ")).substring("READY ".length()).trim();
        return new FloorProcess(kind, address, child, jvmArgs);
    }
}
