package io.courier.bench.sut;

import io.courier.bench.peer.Mosquitto;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A mosquitto this run starts for itself, on a free loopback port, with the settings of
 * {@code bench/mosquitto.conf}; stopped when the run is done with it.
 */
public final class MosquittoPeer implements SystemUnderTest {

    private final Mosquitto broker;

    private MosquittoPeer(Mosquitto broker) {
        this.broker = broker;
    }

    /** Starts mosquitto; {@code dir} is unused (mosquitto keeps its own log beside its config). */
    public static MosquittoPeer start(Path dir) {
        return new MosquittoPeer(Mosquitto.start());
    }

    @Override
    public String name() {
        return "mosquitto";
    }

    @Override
    public Kind kind() {
        return Kind.PEER;
    }

    @Override
    public String address() {
        return broker.address();
    }

    @Override
    public long pid() {
        return broker.pid();
    }

    @Override
    public boolean isJvm() {
        return false;
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("peer", "mosquitto");
        d.put("command", ExternalPeer.command(broker.pid()));
        d.put("settings", Mosquitto.settings(broker.port()));
        return d;
    }

    @Override
    public void close() {
        broker.close();
    }
}
