package io.courier.bench.sut;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Courier cluster on this machine: a redis-server of its own (nothing saved) and {@code nodes}
 * Courier servers as processes, all on one transport and on the PostgreSQL store that
 * {@code settings} names. Its address lists every node's, so each pair's two users sit on
 * different nodes; its CPU is the nodes' and Redis's together, and {@link #describe()} names
 * each process.
 */
public final class CourierClusterProcess implements SystemUnderTest {

    private final String name;
    private final ChildProcess redis;
    private final List<CourierServerProcess> nodes;
    private final Map<String, Object> description;

    private CourierClusterProcess(String name, ChildProcess redis, List<CourierServerProcess> nodes,
                                  Map<String, Object> description) {
        this.name = name;
        this.redis = redis;
        this.nodes = nodes;
        this.description = description;
    }

    /**
     * Starts Redis, then the nodes one after another.
     *
     * @param settings the nodes' settings, which must name the PostgreSQL store
     *                 ({@code storage.options.url} and the like); the cluster's own are added.
     */
    public static CourierClusterProcess start(String transport, int count, List<String> jvmArgs, List<String> settings,
                                              Path dir) throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        ChildProcess redis = ChildProcess.start(List.of("redis-server", "--port", Integer.toString(port), "--bind",
                "127.0.0.1", "--save", "", "--appendonly", "no"), dir.resolve("redis.log"),
            line -> line.contains("Ready to accept connections"), 60);
        List<CourierServerProcess> nodes = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                List<String> own = new ArrayList<>(settings);
                own.addAll(List.of("cluster.enabled=true", "cluster.node-id=node-" + i,
                    "cluster.redis=redis://127.0.0.1:" + port));
                nodes.add(CourierServerProcess.start(transport, "postgres", jvmArgs, own, dir.resolve("node-" + i)));
            }
        } catch (IOException | RuntimeException e) {
            nodes.forEach(CourierServerProcess::close);
            redis.close();
            throw e;
        }
        Map<String, Object> description = new LinkedHashMap<>();
        description.put("transport", transport);
        description.put("nodes", count);
        description.put("jvmArgs", jvmArgs);
        description.put("settings", settings);
        List<Long> pids = new ArrayList<>();
        nodes.forEach(n -> pids.add(n.pid()));
        description.put("nodePids", pids);
        description.put("redisPid", redis.pid());
        return new CourierClusterProcess(transport + "-cluster", redis, nodes, description);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Kind kind() {
        return Kind.COURIER;
    }

    @Override
    public String address() {
        return String.join(",", nodes.stream().map(CourierServerProcess::address).toList());
    }

    @Override
    public long pid() {
        return nodes.get(0).pid();
    }

    @Override
    public List<Long> pids() {
        List<Long> pids = new ArrayList<>();
        nodes.forEach(n -> pids.add(n.pid()));
        pids.add(redis.pid());
        return pids;
    }

    @Override
    public boolean isJvm() {
        return true;
    }

    @Override
    public Map<String, Object> describe() {
        return description;
    }

    @Override
    public void close() {
        nodes.forEach(CourierServerProcess::close);
        redis.close();
    }
}
