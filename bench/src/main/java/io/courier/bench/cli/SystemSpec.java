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

    /** Courier on each of {@code transports}, configured from {@code load}'s server options. */
    static List<SystemSpec> courier(List<String> transports, LoadOptions load, List<String> extraJvmArgs) {
        List<SystemSpec> specs = new ArrayList<>();
        for (String transport : transports) {
            specs.add(new SystemSpec(transport, dir -> {
                List<String> jvm = new ArrayList<>(load.serverJvmArgs);
                jvm.addAll(extraJvmArgs);
                return CourierServerProcess.start(transport, load.storage, jvm, load.settings, dir);
            }));
        }
        return specs;
    }

    static List<SystemSpec> floors(List<String> kinds, LoadOptions load) {
        List<SystemSpec> specs = new ArrayList<>();
        for (String kind : kinds) {
            specs.add(new SystemSpec(kind, dir -> FloorProcess.start(kind, load.serverJvmArgs, dir)));
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
}
