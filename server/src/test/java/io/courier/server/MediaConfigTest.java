package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.ServerSocket;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mistakes in media.* stop start-up with one line naming the key and what to do. */
class MediaConfigTest {

    @TempDir
    Path dir;

    private List<String> overrides(String... extra) {
        List<String> all = new ArrayList<>(List.of("data-dir=" + dir, "transports.tcp.port=0", "transports.ws.port=0",
            "transports.longpoll.port=0", "transports.udp.port=0", "admin.port=0", "media.port=0"));
        all.addAll(List.of(extra));
        return all;
    }

    @Test
    void shouldRefuseAnOptionTheStoreDoesNotDeclareListingItsOptions() {
        assertThatThrownBy(() -> ConfigLoader.load(null, overrides("media.store=s3", "media.options.bukket=x")))
            .isInstanceOf(ConfigException.class)
            .hasMessage("Unknown option media.options.bukket = 'x' (--set media.options.bukket=x): media.store 's3' "
                + "has no option 'bukket'; its options: access-key-id, bucket, endpoint, path-style, region, "
                + "secret-access-key");
    }

    @Test
    void shouldRefuseAnUnknownStoreListingTheKnownOnes() {
        assertThatThrownBy(() -> ConfigLoader.load(null, overrides("media.store=floppy")))
            .isInstanceOf(ConfigException.class)
            .hasMessage("media.store 'floppy' (--set media.store=floppy) is not a blob store on the class path; "
                + "available: filesystem, s3");
    }

    @Test
    void shouldRefuseAPublicUrlThatIsNotHttp() {
        assertThatThrownBy(() -> ConfigLoader.load(null, overrides("media.public-url=ftp://media.example.org")))
            .isInstanceOf(ConfigException.class)
            .hasMessage("media.public-url must be an http or https URL without a query, e.g. https://media.example.org, "
                + "was 'ftp://media.example.org' (--set media.public-url=ftp://media.example.org)");
    }

    @Test
    void shouldRefuseAnS3StoreWithoutItsBucketAtStartUp() {
        ServerConfig config = ConfigLoader.load(null, overrides("media.store=s3"));
        assertThatThrownBy(() -> CourierServer.start(config).close())
            .isInstanceOf(ConfigException.class)
            .hasMessage("media.store 's3': media.options.bucket must be set: the bucket blobs go to");
    }

    @Test
    void shouldNameMediaPortWhenItsAddressIsTaken() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            ServerConfig config = ConfigLoader.load(null, overrides("media.port=" + taken.getLocalPort()));
            assertThatThrownBy(() -> CourierServer.start(config).close())
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("The media service cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": ")
                .hasMessageEndingWith("; change media.host / media.port, or stop what listens there");
        }
    }

    @Test
    void shouldUseThePublicUrlForTheUrlsItHandsOut() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dir.resolve("data"), "media.public-url=https://media.example.org/")) {
            TestClient alice = fixture.user("alice").connect();
            var slot = MediaSlotTest.requestSlot(alice, 1, "image/png", new byte[] {1});
            assertThat(slot.getUploadUrl()).startsWith("https://media.example.org/media/alice/");
            assertThat(slot.getDownloadUrl()).startsWith("https://media.example.org/media/alice/");
        }
    }
}
