package io.courier.bench.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/**
 * {@code jmh …}: the JMH microbenchmarks in this jar, with JMH's own command line
 * ({@code jmh -l} lists them, {@code jmh -h} explains the options). Every benchmark forks with
 * Agrona's {@code --add-exports} in its fork arguments.
 */
@Command(name = "jmh", versionProvider = BenchVersion.class,
    customSynopsis = "courier-bench jmh [--help] [--version] [JMH-ARGUMENT...]",
    description = "Run the JMH microbenchmarks; the arguments are JMH's (-l lists them, -h lists JMH's options).")
public final class JmhCommand implements Callable<Integer> {

    // Long names only: JMH's own -h and -v must reach JMH.
    @Option(names = "--help", usageHelp = true, description = "Show this help message and exit (JMH's options: -h).")
    boolean help;

    @Option(names = "--version", versionHelp = true, description = "Print version information and exit.")
    boolean version;

    /** Every other argument, options included, is JMH's: picocli collects them untouched. */
    @Unmatched
    List<String> arguments = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        org.openjdk.jmh.Main.main(arguments.toArray(String[]::new));
        return 0;
    }
}
