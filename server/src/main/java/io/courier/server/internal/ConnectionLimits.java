package io.courier.server.internal;

import io.courier.server.ConfigException;
import io.courier.server.ServerConfig;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.OptionalLong;

/**
 * The connection limits in force, from the configuration and the process's open-file limit: every
 * connection the limits count may hold a file descriptor, so the most the server holds plus what
 * it needs besides connections — the reserve — must fit under the limit, or start-up stops naming
 * the keys.
 *
 * <p>The reserve's default of 1,000 (a quarter of the open-file limit when that is smaller) covers
 * what a server opens besides connections: about 100 for the JVM (jars, its own files), the four
 * listening sockets and the admin endpoint and its clients, three per event loop (epoll, event and
 * timer descriptors; a few dozen on a large machine), RocksDB's files (write-ahead log, manifest,
 * one per table file: a few hundred on a large store) or PostgreSQL's pool, the log — and room for
 * sockets that are accepted and being refused or evicted during a flood, which may linger while
 * their clients read why (the admission gate closes the oldest of them at once beyond half the
 * reserve).
 *
 * @param maxConnections           connections held at once, every transport together.
 * @param fdReserve                files kept for the rest.
 * @param maxConnectionsPerAddress of {@code maxConnections}, from one source address.
 * @param fdLimit                  the process's open-file limit, or -1 when unknown.
 */
public record ConnectionLimits(int maxConnections, int fdReserve, int maxConnectionsPerAddress, long fdLimit) {

    /** The reserve when the open-file limit is large. */
    public static final int DEFAULT_FD_RESERVE = 1_000;
    /** The global limit where the open-file limit cannot be read. */
    public static final int DEFAULT_MAX_CONNECTIONS_UNKNOWN_FD_LIMIT = 10_000;

    /** Refused and evicted connections that may linger at once: half the reserve. */
    public int lingerAllowance() {
        return Math.max(1, fdReserve / 2);
    }

    /** The limits for {@code config} in this process. */
    public static ConnectionLimits resolve(ServerConfig.Limits config) {
        return resolve(config, openFileLimit());
    }

    /**
     * The limits for {@code config} under an open-file limit of {@code fdLimit} (empty: unknown).
     *
     * @throws ConfigException when the configured connections and reserve do not fit, naming the
     *     keys, the numbers and what to do.
     */
    public static ConnectionLimits resolve(ServerConfig.Limits config, OptionalLong fdLimit) {
        int perAddress = config.maxConnectionsPerAddress();
        if (fdLimit.isEmpty()) {
            int reserve = config.fdReserve().orElse(DEFAULT_FD_RESERVE);
            return new ConnectionLimits(config.maxConnections().orElse(DEFAULT_MAX_CONNECTIONS_UNKNOWN_FD_LIMIT), reserve,
                perAddress, -1);
        }
        long files = fdLimit.getAsLong();
        int reserve = config.fdReserve().orElse((int) Math.min(DEFAULT_FD_RESERVE, files / 4));
        String reserveKey = "limits.fd-reserve (" + reserve + (config.fdReserve().isPresent() ? "" : ", the default") + ")";
        if (config.maxConnections().isPresent()) {
            long max = config.maxConnections().getAsInt();
            if (max + reserve > files) {
                throw new ConfigException("limits.max-connections (" + max + ") + " + reserveKey + " = " + (max + reserve)
                    + " is above this process's open-file limit of " + files + "; lower limits.max-connections to at most "
                    + Math.max(0, files - reserve) + ", or raise the limit (ulimit -n; LimitNOFILE= for a systemd service)");
            }
            return new ConnectionLimits((int) max, reserve, perAddress, files);
        }
        if (files - reserve < 1) {
            throw new ConfigException(reserveKey + " leaves no room for connections under this process's open-file "
                + "limit of " + files + "; lower limits.fd-reserve, or raise the limit (ulimit -n; LimitNOFILE= for a "
                + "systemd service)");
        }
        return new ConnectionLimits((int) Math.min(Integer.MAX_VALUE, files - reserve), reserve, perAddress, files);
    }

    /** The most files this process may open (the soft limit, which the JVM raises to the hard one), if known. */
    public static OptionalLong openFileLimit() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            long max = unix.getMaxFileDescriptorCount();
            if (max > 0) {
                return OptionalLong.of(max);
            }
        }
        return OptionalLong.empty();
    }

    /** For the start-up log. */
    public String describe() {
        return "at most " + maxConnections + " connections (" + maxConnectionsPerAddress + " per address), "
            + (fdLimit < 0 ? "open-file limit unknown" : "open-file limit " + fdLimit + ", " + fdReserve + " kept in reserve");
    }
}
