package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code --version} answers on every command with the version the build was made from. */
class VersionOptionTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"", "token", "key"})
    void shouldPrintTheBuildsVersionOnEveryCommand(String command) throws Exception {
        String version = System.getProperty("courier.version");
        assertThat(version).as("the POM hands the project version to the tests").isNotBlank().doesNotContain("${");

        ServerProcess.Result result = command.isEmpty() ? ServerProcess.run(dir, "--version")
            : ServerProcess.run(dir, command, "--version");

        assertThat(result.exitStatus()).isZero();
        assertThat(result.stdout()).isEqualTo("courier-server " + version + System.lineSeparator());
        assertThat(result.stderr()).isEmpty();
    }
}
