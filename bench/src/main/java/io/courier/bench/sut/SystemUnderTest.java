package io.courier.bench.sut;

import java.util.Map;

/**
 * What a benchmark measures, running in its own process: the Courier server on one transport, a
 * floor's middle process, or a peer broker. The load generators reach it at {@link #address()}.
 */
public interface SystemUnderTest extends AutoCloseable {

    /** courier, floor or peer. */
    enum Kind { COURIER, FLOOR, PEER }

    /** Short name used in tables and plots: tcp, ws, relay, aeron-ipc, mosquitto, … */
    String name();

    Kind kind();

    /** The address a {@link io.courier.bench.load.Target} opens. */
    String address();

    /** Its process id, or -1 when unknown (a broker on another machine). */
    long pid();

    /**
     * The processes whose CPU counts as this system's: its own by default; a cluster's nodes and
     * its Redis. Empty when unknown.
     */
    default java.util.List<Long> pids() {
        return pid() > 0 ? java.util.List.of(pid()) : java.util.List.of();
    }

    /** True when the process is a JVM we started, which jcmd can inspect. */
    boolean isJvm();

    /** How it was configured, for the result file. */
    Map<String, Object> describe();

    /** Stops it, if we started it. */
    @Override
    void close();
}
