package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the executable logs as it starts: the auth mode, a new secret, absolute paths, one ready line. */
class StartupLogTest {

    @TempDir
    Path dir;

    @Test
    void shouldSayTheAuthModeTheNewKeyAndEveryAddressInOneReadyLine() throws Exception {
        // Given with ./ and .. on purpose: the log prints it absolute and normalised.
        String unnormalised = dir + "/./scratch/../data";
        Path dataDir = dir.resolve("data");
        try (ServerProcess server = new ServerProcess(dir, "data-dir=" + unnormalised).start()) {
            String log = server.logText();

            assertThat(log).contains("Courier " + System.getProperty("courier.version") + " starting; data directory "
                + dataDir);
            assertThat(log).contains("Created a new HMAC key 1 in " + dataDir.resolve("auth-keys"));
            assertThat(log).contains("Authentication: auth.mode 'hmac', HMAC-SHA256 tokens signed with the keys in "
                + dataDir.resolve("auth-keys") + ", living at most P30D");
            assertThat(log).doesNotContain("/./").doesNotContain("/../");
            assertThat(log.lines().filter(line -> line.contains("Courier ready"))).hasSize(1);
            String port = "[1-9][0-9]*";
            assertThat(log).containsPattern(Pattern.compile("Courier ready: tcp 127\\.0\\.0\\.1:" + server.tcpPort
                + ", udp 127\\.0\\.0\\.1:" + port + ", ws ws://127\\.0\\.0\\.1:" + port + "/ws, longpoll "
                + "http://127\\.0\\.0\\.1:" + port + "/lp, media http://127\\.0\\.0\\.1:" + port
                + ", admin http://127\\.0\\.0\\.1:" + server.adminPort
                + ", browser client http://127\\.0\\.0\\.1:" + server.adminPort + "/app/\n"));

            assertThat(server.terminate()).isTrue();
            assertThat(server.logText()).contains("Courier stopped");

            // The second start finds the key: no news about it.
            server.start();
            assertThat(server.logText()).doesNotContain("Created a new HMAC key").contains("Courier ready: ");
        }
    }

    @Test
    void shouldSayLoudlyThatInsecureModeIsOn() throws Exception {
        try (ServerProcess server = new ServerProcess(dir, "auth.mode=insecure", "storage.backend=memory").start()) {
            assertThat(server.logText())
                .contains("Authentication: auth.mode 'insecure', none: any client may act as any user (benchmarks only)")
                .contains("auth.mode is 'insecure': ANY client may act as ANY user")
                .doesNotContain("HMAC key");
        }
    }
}
