package io.courier.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin endpoint serves the browser client's files, and nothing else under its path; off by configuration. */
class BrowserClientEndpointTest {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @TempDir
    Path dataDir;

    @Test
    void shouldServeThePageAndItsModulesWithTheirContentTypesAndRedirectTheRootToIt() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            String admin = "http://127.0.0.1:" + fixture.server.adminPort();
            HttpResponse<String> page = get(admin + "/app/");
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.headers().firstValue("Content-Security-Policy")).get().asString()
                .contains("connect-src 'self' ws://127.0.0.1:" + fixture.server.address("ws").getPort()
                    + " http://127.0.0.1:" + fixture.server.address("longpoll").getPort()
                    + " http://127.0.0.1:" + fixture.server.mediaPort() + ";")
                .contains("img-src 'self' data: blob:;");
            for (String module : new String[] {"app.js", "client.js", "store.js", "transports.js", "e2e.js", "secure.js", "sw.js"}) {
                HttpResponse<String> js = get(admin + "/app/" + module);
                assertThat(js.statusCode()).as(module).isEqualTo(200);
                assertThat(js.headers().firstValue("Content-Type")).as(module).hasValue("text/javascript; charset=utf-8");
            }
            assertThat(get(admin + "/app/style.css").headers().firstValue("Content-Type")).hasValue("text/css; charset=utf-8");
            HttpResponse<String> root = get(admin + "/");
            assertThat(root.statusCode()).isEqualTo(302);
            assertThat(root.headers().firstValue("Location")).hasValue("/app/");
            assertThat(get(admin + "/metrics").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void shouldAnswerNotFoundForAnyOtherNameAndRefuseMethodsOtherThanGet() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir)) {
            String admin = "http://127.0.0.1:" + fixture.server.adminPort();
            HttpResponse<String> missing = get(admin + "/app/courier-defaults.yaml");
            assertThat(missing.statusCode()).isEqualTo(404);
            assertThat(missing.body()).contains("/app/courier-defaults.yaml").contains("The browser client is at /app/");
            assertThat(get(admin + "/app/%2e%2e/%2e%2e/etc/passwd").statusCode()).isEqualTo(404);
            assertThat(get(admin + "/favicon.ico").statusCode()).isEqualTo(404);
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(admin + "/app/"))
                .POST(HttpRequest.BodyPublishers.ofString("x")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);
            assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
        }
    }

    @Test
    void shouldServeNoPageWhenTheBrowserClientIsOffAndStillServeMetrics() throws Exception {
        try (ServerFixture fixture = new ServerFixture(dataDir, "admin.browser-client=false")) {
            String admin = "http://127.0.0.1:" + fixture.server.adminPort();
            assertThat(get(admin + "/app/").statusCode()).isEqualTo(404);
            assertThat(get(admin + "/app/app.js").statusCode()).isEqualTo(404);
            assertThat(get(admin + "/metrics").statusCode()).isEqualTo(200);
        }
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
            HttpResponse.BodyHandlers.ofString());
    }
}
