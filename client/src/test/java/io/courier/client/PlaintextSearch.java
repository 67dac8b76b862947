package io.courier.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;

/**
 * Looks for plaintexts in what a server stored: the raw bytes of every file under a directory
 * (RocksDB's SST files, its write-ahead log and manifest, the filesystem blob store), every key
 * and value of every column family of a RocksDB database (as RocksDB hands them out, so its block
 * compression cannot hide anything), and every row of every table of a PostgreSQL schema.
 *
 * <p>Each needle is looked for as its own bytes, as lower-case hex and as base64 (the three ways
 * a store might keep bytes). A search that finds nothing proves little on its own, so callers
 * always search for a positive control too: a distinctive plaintext that the same run stored
 * unencrypted, which must be found.
 */
final class PlaintextSearch {

    /** Where each needle was found (empty lists for the ones found nowhere), and how much was read. */
    record Report(String what, long items, long bytes, Map<String, List<String>> hits) {

        List<String> hitsOf(String needle) {
            return hits.get(needle);
        }

        @Override
        public String toString() {
            return String.format("%s: %,d items, %,d bytes searched; found: %s", what, items, bytes, hits);
        }
    }

    private final Map<String, List<byte[]>> needles = new LinkedHashMap<>();

    /** Searches for each of {@code plaintexts} (name to text, UTF-8). */
    PlaintextSearch(Map<String, String> plaintexts) {
        plaintexts.forEach((name, text) -> {
            byte[] raw = text.getBytes(StandardCharsets.UTF_8);
            needles.put(name, List.of(raw, HexFormat.of().formatHex(raw).getBytes(StandardCharsets.US_ASCII),
                Base64.getEncoder().withoutPadding().encodeToString(raw).getBytes(StandardCharsets.US_ASCII)));
        });
    }

    private Map<String, List<String>> emptyHits() {
        Map<String, List<String>> hits = new LinkedHashMap<>();
        needles.keySet().forEach(n -> hits.put(n, new ArrayList<>()));
        return hits;
    }

    private void look(byte[] haystack, String where, Map<String, List<String>> hits) {
        needles.forEach((name, forms) -> {
            if (forms.stream().anyMatch(f -> indexOf(haystack, f) >= 0)) {
                hits.get(name).add(where);
            }
        });
    }

    /** Every regular file under {@code root}, byte for byte. */
    Report files(Path root) throws IOException {
        Map<String, List<String>> hits = emptyHits();
        long count = 0;
        long bytes = 0;
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path file : walk.filter(Files::isRegularFile).toList()) {
                byte[] content = Files.readAllBytes(file);
                count++;
                bytes += content.length;
                look(content, root.relativize(file).toString(), hits);
            }
        }
        return new Report("files under " + root, count, bytes, hits);
    }

    /**
     * Every key and value of every column family of the RocksDB database in {@code path}, opened
     * read-only (the server that wrote it must be stopped).
     */
    Report rocksDb(Path path) throws RocksDBException {
        RocksDB.loadLibrary();
        Map<String, List<String>> hits = emptyHits();
        long count = 0;
        long bytes = 0;
        List<ColumnFamilyDescriptor> families = new ArrayList<>();
        try (Options options = new Options()) {
            for (byte[] name : RocksDB.listColumnFamilies(options, path.toString())) {
                families.add(new ColumnFamilyDescriptor(name));
            }
        }
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try (org.rocksdb.DBOptions options = new org.rocksdb.DBOptions();
             RocksDB db = RocksDB.openReadOnly(options, path.toString(), families, handles)) {
            try {
                for (ColumnFamilyHandle handle : handles) {
                    String family = new String(handle.getName(), StandardCharsets.UTF_8);
                    try (RocksIterator it = db.newIterator(handle)) {
                        for (it.seekToFirst(); it.isValid(); it.next()) {
                            byte[] key = it.key();
                            byte[] value = it.value();
                            count++;
                            bytes += key.length + value.length;
                            look(key, family + " key", hits);
                            look(value, family + " value of key " + HexFormat.of().formatHex(key), hits);
                        }
                    }
                }
            } finally {
                handles.forEach(ColumnFamilyHandle::close);
            }
        }
        return new Report("RocksDB entries in " + path, count, bytes, hits);
    }

    /**
     * Every column of every row of every table in {@code schema}: bytea columns as their bytes,
     * every other column as its text.
     */
    Report postgres(String url, String user, String password, String schema) throws SQLException {
        Map<String, List<String>> hits = emptyHits();
        long count = 0;
        long bytes = 0;
        List<String> tables = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            try (PreparedStatement list = c.prepareStatement("SELECT table_name FROM information_schema.tables "
                + "WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name")) {
                list.setString(1, schema);
                try (ResultSet rs = list.executeQuery()) {
                    while (rs.next()) {
                        tables.add(rs.getString(1));
                    }
                }
            }
            for (String table : tables) {
                try (Statement s = c.createStatement();
                     ResultSet rs = s.executeQuery("SELECT * FROM \"" + schema + "\".\"" + table + "\"")) {
                    ResultSetMetaData meta = rs.getMetaData();
                    int row = 0;
                    while (rs.next()) {
                        row++;
                        count++;
                        for (int col = 1; col <= meta.getColumnCount(); col++) {
                            byte[] value = "bytea".equals(meta.getColumnTypeName(col)) ? rs.getBytes(col)
                                : rs.getString(col) == null ? null : rs.getString(col).getBytes(StandardCharsets.UTF_8);
                            if (value != null) {
                                bytes += value.length;
                                look(value, table + " row " + row + " column " + meta.getColumnName(col), hits);
                            }
                        }
                    }
                }
            }
        }
        return new Report("rows of " + tables.size() + " tables in PostgreSQL schema " + schema, count, bytes, hits);
    }

    /** Every byte a proxy carried, each direction of each connection as one stream. */
    Report wire(WireCapture capture) {
        Map<String, List<String>> hits = emptyHits();
        long bytes = 0;
        List<byte[]> streams = capture.snapshot();
        for (int i = 0; i < streams.size(); i++) {
            bytes += streams.get(i).length;
            look(streams.get(i), "stream " + i, hits);
        }
        return new Report("wire capture", streams.size(), bytes, hits);
    }

    /** The first index of {@code needle} in {@code haystack}, or -1. */
    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
