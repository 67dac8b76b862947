package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.server.internal.ConnectionLimits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executable refuses connection limits that cannot fit under its open-file limit, with one
 * line naming the keys and numbers and exit status 2, and says the limits it runs with. The child
 * JVM has this JVM's open-file limit: both inherit the same shell's.
 */
class ConnectionLimitStartupTest {

    private static long fdLimit;

    @TempDir
    Path dir;

    @BeforeAll
    static void readTheOpenFileLimit() {
        fdLimit = ConnectionLimits.openFileLimit().orElseThrow(
            () -> new IllegalStateException("These tests need a Unix JVM that reports its open-file limit"));
    }

    @Test
    void shouldRefuseAConnectionLimitThatLeavesNoReserveNamingTheKeysAndTheOpenFileLimit() throws Exception {
        long reserve = Math.min(1_000, fdLimit / 4);
        ServerProcess.Result result = server("limits.max-connections=" + fdLimit);

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).containsExactly("courier: limits.max-connections (" + fdLimit + ") + "
            + "limits.fd-reserve (" + reserve + ", the default) = " + (fdLimit + reserve) + " is above this process's "
            + "open-file limit of " + fdLimit + "; lower limits.max-connections to at most " + (fdLimit - reserve)
            + ", or raise the limit (ulimit -n; LimitNOFILE= for a systemd service)");
        assertNoStackTrace(result);
    }

    @Test
    void shouldRefuseAReserveAsLargeAsTheOpenFileLimit() throws Exception {
        ServerProcess.Result result = server("limits.fd-reserve=" + fdLimit);

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).containsExactly("courier: limits.fd-reserve (" + fdLimit + ") leaves no room for "
            + "connections under this process's open-file limit of " + fdLimit + "; lower limits.fd-reserve, or raise the "
            + "limit (ulimit -n; LimitNOFILE= for a systemd service)");
        assertNoStackTrace(result);
    }

    @Test
    void shouldRefuseALimitThatIsNotAPositiveInteger() throws Exception {
        ServerProcess.Result result = server("limits.max-connections-per-address=0");

        assertThat(result.exitStatus()).isEqualTo(2);
        assertThat(result.errorLines()).containsExactly("courier: limits.max-connections-per-address must be a positive "
            + "integer, was '0' (--set limits.max-connections-per-address=0)");
        assertNoStackTrace(result);
    }

    @Test
    void shouldLogTheLimitsItRunsWith() throws Exception {
        try (ServerProcess server = new ServerProcess(dir, "storage.backend=memory", "limits.max-connections-per-address=50")
            .start()) {
            long reserve = Math.min(1_000, fdLimit / 4);
            assertThat(server.logText()).contains("Connection limits: at most " + (fdLimit - reserve) + " connections "
                + "(50 per address), open-file limit " + fdLimit + ", " + reserve + " kept in reserve");
        }
    }

    private ServerProcess.Result server(String... overrides) throws Exception {
        List<String> args = new ArrayList<>();
        for (String override : List.of("data-dir=" + dir.resolve("data"), "transports.tcp.port=0",
            "transports.udp.port=0", "transports.ws.port=0", "transports.longpoll.port=0", "admin.port=0", "media.port=0")) {
            args.add("--set");
            args.add(override);
        }
        for (String override : overrides) {
            args.add("--set");
            args.add(override);
        }
        return ServerProcess.run(dir, args.toArray(String[]::new));
    }

    private static void assertNoStackTrace(ServerProcess.Result result) {
        String all = result.stdout() + result.stderr();
        assertThat(all).doesNotContain("\tat ").doesNotContain("Exception").doesNotContain("Caused by")
            .doesNotContain("Courier ready");
    }
}
