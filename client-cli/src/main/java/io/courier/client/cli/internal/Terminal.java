package io.courier.client.cli.internal;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** What the process knows of its terminal. */
public final class Terminal {

    /** Rows and columns. */
    public record Size(int rows, int columns) {
    }

    private static final Size FALLBACK = new Size(24, 80);

    private Terminal() {
    }

    /** True when input and output are a terminal that can move its cursor (not {@code TERM=dumb}). */
    public static boolean isInteractive() {
        String term = System.getenv("TERM");
        return System.console() != null && term != null && !term.isEmpty() && !term.equals("dumb");
    }

    /**
     * The terminal's size, as {@code stty size} reports it for {@code /dev/tty} (Java has no call
     * for it); 24 by 80 when that fails.
     */
    public static Size size() {
        try {
            Process stty = new ProcessBuilder("stty", "size").redirectInput(new File("/dev/tty"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            byte[] out = stty.getInputStream().readAllBytes();
            if (!stty.waitFor(2, TimeUnit.SECONDS) || stty.exitValue() != 0) {
                stty.destroyForcibly();
                return FALLBACK;
            }
            String[] parts = new String(out, StandardCharsets.US_ASCII).trim().split("\\s+");
            int rows = Integer.parseInt(parts[0]);
            int columns = Integer.parseInt(parts[1]);
            return rows >= 5 && columns >= 20 ? new Size(rows, columns) : FALLBACK;
        } catch (IOException | RuntimeException e) {
            return FALLBACK;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return FALLBACK;
        }
    }
}
