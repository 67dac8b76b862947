package io.courier.bench.sut;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a process holds in memory, read from outside it:
 * <ul>
 *   <li>{@code heapLive}: live Java heap after a full GC ({@code jcmd PID GC.class_histogram},
 *       which collects first), JVMs only;
 *   <li>{@code direct}: NMT's "Other" category, where the JDK counts direct byte buffers (Netty's
 *       included), JVMs started with {@code -XX:NativeMemoryTracking=summary} only;
 *   <li>{@code nativeOther}: every other NMT category that can grow with connections — threads,
 *       GC structures, internal, NIO — excluding the heap, and the class metadata, code cache,
 *       compiler, compiler arenas and symbols that warm-up and JIT grow whatever the load;
 *   <li>{@code nmt.CATEGORY}: every NMT category's committed bytes, so the growth can be read
 *       category by category in the result file;
 *   <li>{@code rss}: resident set size ({@code VmRSS}), any process;
 *   <li>{@code kernelTcp}, {@code kernelUdp}: the kernel's socket buffer memory from
 *       {@code /proc/net/sockstat}, machine-wide, in bytes (pages × 4096).
 * </ul>
 */
public final class ProcessProbe {

    private static final Pattern TOTAL = Pattern.compile("Total\\s+\\d+\\s+(\\d+)");
    private static final Pattern RSS = Pattern.compile("VmRSS:\\s+(\\d+) kB");
    private static final Pattern NMT_CATEGORY = Pattern.compile("-\\s+([A-Za-z ]+?) \\(reserved=\\d+KB, committed=(\\d+)KB\\)");
    // Arena Chunk is the compilers' scratch memory: it grows while C2 compiles during the connect
    // storm and is reused afterwards, like Code and Compiler.
    private static final Set<String> NOT_PER_CONNECTION = Set.of("Java Heap", "Class", "Code", "Compiler",
        "Arena Chunk", "Symbol",
        "Other", "Metaspace", "Shared class space", "Native Memory Tracking", "Arguments", "Module", "Synchronizer",
        "Logging", "Safepoint", "Serviceability", "String Deduplication", "Object Monitors", "Tracing");

    private ProcessProbe() {
    }

    /** A snapshot: every value in bytes, absent when it could not be read. */
    public static Map<String, Long> snapshot(long pid, boolean jvm, boolean nmt) throws IOException, InterruptedException {
        Map<String, Long> values = new LinkedHashMap<>();
        if (jvm) {
            Matcher total = TOTAL.matcher(jcmd(pid, "GC.class_histogram"));
            if (!total.find()) {
                throw new IllegalStateException("No total in the class histogram of process " + pid);
            }
            values.put("heapLive", Long.parseLong(total.group(1)));
            if (nmt) {
                long other = 0;
                long nativeOther = 0;
                Matcher m = NMT_CATEGORY.matcher(jcmd(pid, "VM.native_memory summary"));
                while (m.find()) {
                    String category = m.group(1).trim();
                    long committed = Long.parseLong(m.group(2)) * 1024;
                    values.put("nmt." + category, committed);
                    if (category.equals("Other")) {
                        other = committed;
                    } else if (!NOT_PER_CONNECTION.contains(category)) {
                        nativeOther += committed;
                    }
                }
                values.put("direct", other);
                values.put("nativeOther", nativeOther);
            }
        }
        if (pid > 0) {
            Matcher rss = RSS.matcher(Files.readString(Path.of("/proc/" + pid + "/status")));
            if (rss.find()) {
                values.put("rss", Long.parseLong(rss.group(1)) * 1024);
            }
        }
        String sockstat = Files.readString(Path.of("/proc/net/sockstat"));
        values.put("kernelTcp", pages(sockstat, "TCP:") * 4096);
        values.put("kernelUdp", pages(sockstat, "UDP:") * 4096);
        return values;
    }

    private static long pages(String sockstat, String protocol) {
        Matcher m = Pattern.compile(protocol + ".*mem (\\d+)").matcher(sockstat);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private static String jcmd(long pid, String what) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
            Long.toString(pid), what).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("jcmd " + pid + " " + what + " failed:\n" + out);
        }
        return out;
    }
}
