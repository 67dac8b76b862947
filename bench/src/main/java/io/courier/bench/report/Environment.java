package io.courier.bench.report;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Where a result was measured: the machine, the JVM, the code. A number without these is hearsay. */
public final class Environment {

    private Environment() {
    }

    public static JsonObject machine() {
        JsonObject m = new JsonObject();
        m.put("hostname", hostname());
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        m.put("cpuModel", match("/proc/cpuinfo", "model name\\s*:\\s*(.+)"));
        m.put("memoryBytes", parseKb(match("/proc/meminfo", "MemTotal:\\s+(\\d+) kB")));
        m.put("kernel", read("/proc/sys/kernel/osrelease"));
        m.put("os", match("/etc/os-release", "PRETTY_NAME=\"?([^\"\\n]+)"));
        m.put("openFilesLimit", match("/proc/self/limits", "Max open files\\s+(\\d+)"));
        return m;
    }

    public static JsonObject jvm() {
        JsonObject j = new JsonObject();
        j.put("version", System.getProperty("java.version"));
        j.put("vendor", System.getProperty("java.vendor"));
        j.put("vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        j.put("home", System.getProperty("java.home"));
        j.put("inputArguments", new JsonArray(ManagementFactory.getRuntimeMXBean().getInputArguments()));
        JsonArray gcs = new JsonArray();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs.add(gc.getName());
        }
        j.put("coordinatorGc", gcs);
        return j;
    }

    /** The git commit the running jar was built from (looked up from the jar's directory), with "-dirty" if so. */
    public static String commit() {
        try {
            Path here = Path.of(Environment.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path dir = Files.isDirectory(here) ? here : here.getParent();
            String head = git(dir, "rev-parse", "HEAD");
            if (head.isEmpty()) {
                return "unknown";
            }
            return git(dir, "status", "--porcelain", "--untracked-files=no").isEmpty() ? head : head + "-dirty";
        } catch (Exception e) {
            return "unknown";
        }
    }

    private static String git(Path dir, String... args) throws IOException, InterruptedException {
        String[] command = new String[args.length + 3];
        command[0] = "git";
        command[1] = "-C";
        command[2] = dir.toString();
        System.arraycopy(args, 0, command, 3, args.length);
        Process p = new ProcessBuilder(command).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? out : "";
    }

    private static String hostname() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file)).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String match(String file, String regex) {
        Matcher m = Pattern.compile(regex).matcher(read(file));
        return m.find() ? m.group(1).trim() : "unknown";
    }

    private static long parseKb(String kb) {
        try {
            return Long.parseLong(kb) * 1024;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
