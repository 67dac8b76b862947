package io.courier.bench.sut;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The command line of a child JVM running a class from this jar: this JVM's {@code java}, Agrona's
 * {@code --add-exports} (every child loads Agrona or Aeron), the caller's flags, this classpath.
 */
public final class JavaCommand {

    private JavaCommand() {
    }

    /** {@code java --add-exports … JVM_ARGS -cp THIS_CLASSPATH MAIN_CLASS ARGS…}, mutable. */
    public static List<String> of(List<String> jvmArgs, String mainClass, String... args) {
        List<String> command = new ArrayList<>(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED"));
        command.addAll(jvmArgs);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        command.addAll(List.of(args));
        return command;
    }
}
