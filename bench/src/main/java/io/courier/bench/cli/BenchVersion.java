package io.courier.bench.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * What {@code --version} prints, on every command: the Maven project version this jar was built
 * from, which the build writes into {@code version.properties}.
 */
public final class BenchVersion implements IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {"courier-bench " + version()};
    }

    /** The project version, e.g. {@code 0.1.0-SNAPSHOT}. */
    public static String version() {
        try (InputStream in = BenchVersion.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                throw new IllegalStateException(
                    "version.properties is missing from the classpath: build courier-bench with Maven");
            }
            Properties properties = new Properties();
            properties.load(in);
            return properties.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read courier-bench's version.properties", e);
        }
    }
}
