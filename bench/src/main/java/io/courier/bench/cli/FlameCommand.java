package io.courier.bench.cli;

import io.courier.bench.report.FlameGraph;
import io.courier.bench.report.ResultFileException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code flame FILE -o SVG}: collapsed stacks (async-profiler's {@code collapsed} output) as a
 * self-contained SVG flame graph, e.g. of a server run with
 * {@code --server-jvm-args="... -agentpath:libasyncProfiler.so=start,event=itimer,file=out.collapsed,collapsed"}.
 */
@Command(name = "flame", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "Render collapsed stacks ('frame;frame;... COUNT' lines) as an SVG flame graph.")
public final class FlameCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "Collapsed stacks, one stack per line.")
    Path file;

    @Option(names = {"-o", "--output"}, description = "The SVG to write (default FILE with .svg).")
    Path output;

    @Option(names = "--title", description = "The graph's title (default: the file's name).")
    String title;

    @Override
    public Integer call() {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ResultFileException("cannot read " + file + " (" + e + ")", e);
        }
        String svg;
        try {
            svg = FlameGraph.render(lines, title != null ? title : file.getFileName().toString());
        } catch (IllegalArgumentException e) {
            throw new ResultFileException(file + ": " + e.getMessage(), e);
        }
        Path out = output != null ? output
            : file.toAbsolutePath().resolveSibling(file.getFileName().toString().replaceFirst("\\.[^.]*$", "") + ".svg");
        try {
            Files.writeString(out, svg);
        } catch (IOException e) {
            throw new ResultFileException("cannot write " + out + " (" + e + ")", e);
        }
        System.out.println("Flame graph: " + out);
        return 0;
    }
}
