package io.courier.bench.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * {@code jmh …}: the JMH microbenchmarks in this jar, with JMH's own command line
 * ({@code jmh -l} lists them, {@code jmh -h} explains the options). Every benchmark forks with
 * Agrona's {@code --add-exports} in its fork arguments.
 */
@Command(name = "jmh", description = "Run the JMH microbenchmarks; the arguments are JMH's (-l lists, -h helps).")
public final class JmhCommand implements Callable<Integer> {

    /** Every argument, options included, is JMH's: picocli collects them untouched. */
    @Unmatched
    List<String> arguments = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        org.openjdk.jmh.Main.main(arguments.toArray(String[]::new));
        return 0;
    }
}
