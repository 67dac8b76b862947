package io.courier.client;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The storage backends the end-to-end tests run a server on, and the search of everything such a
 * server stored: the files of its data directory (RocksDB files, write-ahead log included, and the
 * filesystem blob store), RocksDB's entries, PostgreSQL's rows, and what crossed the wire.
 */
final class StoredBytes {

    enum Backend { ROCKSDB, POSTGRES }

    private final Backend backend;
    /** Each PostgreSQL run gets its own schema, so runs never see each other's rows. */
    private String schema;

    StoredBytes(Backend backend) {
        this.backend = backend;
    }

    Backend backend() {
        return backend;
    }

    /** The server settings for this backend (media on the filesystem store included), then {@code extra}. */
    String[] overrides(String... extra) {
        List<String> all = new ArrayList<>(List.of(MediaServers.filesystem()));
        if (backend == Backend.POSTGRES) {
            String url = System.getenv("COURIER_PG_URL");
            if (url == null || url.isBlank()) {
                throw new IllegalStateException("COURIER_PG_URL is not set: run the tests with ./test.sh, which starts "
                    + "PostgreSQL (or eval \"$(bash .ci/postgres.sh)\" first)");
            }
            schema = "e2e_" + Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36)
                .toLowerCase(Locale.ROOT);
            all.addAll(List.of("storage.backend=postgres", "storage.options.url=" + url,
                "storage.options.user=" + user(), "storage.options.password=" + password(),
                "storage.options.schema=" + schema));
        }
        all.addAll(List.of(extra));
        return all.toArray(String[]::new);
    }

    private static String user() {
        return System.getenv().getOrDefault("COURIER_PG_USER", "courier");
    }

    private static String password() {
        return System.getenv().getOrDefault("COURIER_PG_PASSWORD", "courier");
    }

    /**
     * Searches everything {@code server} stored (it must be stopped, so RocksDB can be opened and
     * every write is on disk) and every capture; prints each report.
     */
    List<PlaintextSearch.Report> search(PlaintextSearch search, TestServer server, WireCapture... captures)
        throws Exception {
        List<PlaintextSearch.Report> reports = new ArrayList<>();
        reports.add(search.files(server.dataDir));
        Path rocks = server.dataDir.resolve("rocksdb");
        if (backend == Backend.ROCKSDB) {
            if (!Files.isDirectory(rocks)) {
                throw new IllegalStateException("No RocksDB database in " + rocks);
            }
            reports.add(search.rocksDb(rocks));
        } else {
            reports.add(search.postgres(System.getenv("COURIER_PG_URL"), user(), password(), schema));
        }
        for (WireCapture capture : captures) {
            reports.add(search.wire(capture));
        }
        reports.forEach(r -> System.out.println("plaintext search, " + backend + ": " + r));
        return reports;
    }
}
