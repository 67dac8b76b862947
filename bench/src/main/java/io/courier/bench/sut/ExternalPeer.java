package io.courier.bench.sut;

import java.io.IOException;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A peer broker someone else started, at an address ({@code mqtt://127.0.0.1:1883}). When it
 * listens on this machine, its process is found from the listening socket
 * ({@code /proc/net/tcp}, then the process whose descriptors hold that socket), so its memory can
 * be measured too; {@code pid} overrides the search.
 */
public final class ExternalPeer implements SystemUnderTest {

    private final String name;
    private final String address;
    private final long pid;

    public ExternalPeer(String name, String address, long pid) {
        this.name = name;
        this.address = address;
        this.pid = pid > 0 ? pid : listenerPid(URI.create(address).getPort());
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Kind kind() {
        return Kind.PEER;
    }

    @Override
    public String address() {
        return address;
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public boolean isJvm() {
        return false;
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("peer", name);
        d.put("address", address);
        d.put("pid", pid);
        d.put("command", command(pid));
        return d;
    }

    @Override
    public void close() {
        // Not ours to stop.
    }

    /** The command line of process {@code pid}, or "" when unknown. */
    static String command(long pid) {
        try {
            return pid <= 0 ? "" : Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ').trim();
        } catch (IOException e) {
            return "";
        }
    }

    /** The process listening on TCP {@code port} on this machine, or -1. */
    static long listenerPid(int port) {
        try {
            String inode = null;
            for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] f = line.trim().split("\\s+");
                    // local_address is HEXIP:HEXPORT; state 0A is LISTEN; inode is field 9.
                    if (f.length > 9 && f[1].endsWith(":" + String.format("%04X", port)) && f[3].equals("0A")) {
                        inode = f[9];
                    }
                }
            }
            if (inode == null) {
                return -1;
            }
            String socket = "socket:[" + inode + "]";
            try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
                for (Path proc : procs) {
                    try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
                        for (Path fd : fds) {
                            if (socket.equals(Files.readSymbolicLink(fd).toString())) {
                                return Long.parseLong(proc.getFileName().toString());
                            }
                        }
                    } catch (IOException | SecurityException notOurs) {
                        // Another user's process, or gone.
                    }
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
