package io.courier.media.s3;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code @20minutes/s3rver} on 127.0.0.1 with a free port and one bucket, as a real process
 * (media-s3/s3rver/start.js; installed by .ci/s3rver.sh). It checks SigV4 signatures, also of
 * presigned URLs, with access key S3RVER and secret S3RVER.
 */
public final class S3rverProcess implements AutoCloseable {

    public static final String ACCESS_KEY = "S3RVER";
    public static final String SECRET = "S3RVER";

    private final Process process;
    public final int port;

    private S3rverProcess(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /** Started from media-s3's own tests (working directory media-s3). */
    public static S3rverProcess start(Path directory, String bucket) throws Exception {
        return start(Path.of("s3rver"), directory, bucket);
    }

    /** {@code home}: the media-s3/s3rver folder, e.g. {@code ../media-s3/s3rver} from another module. */
    public static S3rverProcess start(Path home, Path directory, String bucket) throws Exception {
        home = home.toAbsolutePath().normalize();
        if (!Files.isDirectory(home.resolve("node_modules/@20minutes/s3rver"))) {
            throw new IllegalStateException("@20minutes/s3rver is not installed in " + home
                + "; run bash .ci/s3rver.sh (npm ci there) first");
        }
        Process process = new ProcessBuilder(List.of("node", "start.js", directory.toString(), bucket))
            .directory(home.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        CompletableFuture<Integer> port = CompletableFuture.supplyAsync(() -> {
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.startsWith("LISTENING ")) {
                        return Integer.parseInt(line.substring("LISTENING ".length()).trim());
                    }
                }
                throw new IllegalStateException("s3rver exited before listening (exit " + process.waitFor() + ")");
            } catch (IOException e) {
                throw new IllegalStateException("Cannot read s3rver's output", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
        try {
            return new S3rverProcess(process, port.get(60, TimeUnit.SECONDS));
        } catch (Exception e) {
            process.destroyForcibly();
            throw e;
        }
    }

    public String endpoint() {
        return "http://127.0.0.1:" + port;
    }

    @Override
    public void close() throws Exception {
        process.getOutputStream().close(); // start.js stops when its standard input ends
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
