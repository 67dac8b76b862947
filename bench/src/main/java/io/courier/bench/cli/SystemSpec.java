package io.courier.bench.cli;

import io.courier.bench.sut.CourierServerProcess;
import io.courier.bench.sut.ExternalPeer;
import io.courier.bench.sut.FloorProcess;
import io.courier.bench.sut.SystemUnderTest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A system to measure, not yet started: a Courier transport, a floor or a peer. */
record SystemSpec(String name, Starter starter) {

    interface Starter {
        SystemUnderTest start(Path dir) throws Exception;
    }

    SystemUnderTest start(Path dir) throws Exception {
        return starter.start(dir);
    }

    /** Courier on each of {@code transports}: a server JVM with {@code jvmArgs}, {@code storage}, {@code settings}. */
    static List<SystemSpec> courier(List<String> transports, String storage, List<String> settings, List<String> jvmArgs) {
        List<SystemSpec> specs = new ArrayList<>();
        for (String transport : transports) {
            specs.add(new SystemSpec(transport, dir -> CourierServerProcess.start(transport, storage, jvmArgs, settings, dir)));
        }
        return specs;
    }

    static List<SystemSpec> floors(List<String> kinds, List<String> jvmArgs) {
        List<SystemSpec> specs = new ArrayList<>();
        for (String kind : kinds) {
            specs.add(new SystemSpec(kind, dir -> FloorProcess.start(kind, jvmArgs, dir)));
        }
        return specs;
    }

    /**
     * The MQTT peer: {@code mosquitto} starts a local mosquitto for the run (and stops it after);
     * {@code mqtt://host:port} uses a broker already running ({@code pid} names its process when the
     * listening socket cannot be traced to it).
     */
    static SystemSpec peer(String peer, long pid) {
        if (peer.equals("mosquitto")) {
            return new SystemSpec("mosquitto", io.courier.bench.sut.MosquittoPeer::start);
        }
        if (!peer.startsWith("mqtt://")) {
            throw new IllegalArgumentException("--peer must be 'mosquitto' (start one) or mqtt://HOST:PORT, was '" + peer + "'");
        }
        return new SystemSpec("mqtt", dir -> new ExternalPeer("mqtt", peer, pid));
    }

    /** The names given, without the 'none' that stands for an empty list. */
    static List<String> named(List<String> names) {
        return names.stream().filter(n -> !n.equals("none") && !n.isBlank()).toList();
    }

    /** {@code systems}, refused when empty. */
    static List<SystemSpec> nonEmpty(List<SystemSpec> systems, String options) {
        LoadOptions.require(!systems.isEmpty(), "nothing to measure: name " + options);
        return systems;
    }
}
