package io.courier.bench.cli;

import io.courier.bench.fleet.LoadGeneratorCommand;
import io.courier.bench.report.BenchResult;
import io.courier.bench.report.ResultFileException;
import io.courier.bench.report.Tables;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code courier-bench} executable. */
@Command(name = "courier-bench", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "Courier's benchmark suite: transports side by side, floors, an MQTT peer, reports.",
    subcommands = {LatencyCommand.class, RttCommand.class, ClusterCommand.class, ThroughputCommand.class, DensityCommand.class, FloorCommand.class,
        PeerCommand.class, CompareCommand.class, ReportCommand.class, FlameCommand.class, JmhCommand.class, LoadGeneratorCommand.class,
        SdkCommand.class})
public final class BenchMain {

    private static List<String> arguments = List.of();

    private BenchMain() {
    }

    public static void main(String[] args) {
        arguments = List.of(args);
        System.exit(commandLine().execute(args));
    }

    /**
     * The command line with every command and how it answers ordinary mistakes: a refused option
     * value prints its reason and the command's usage, an unusable result file one line naming
     * it; both exit with 2. Anything else is a bug and keeps its stack trace.
     */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new BenchMain());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof ResultFileException) {
                cmd.getErr().println("courier-bench " + cmd.getCommandName() + ": " + e.getMessage());
                return 2;
            }
            if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("courier-bench: " + e.getMessage());
                cmd.usage(cmd.getErr());
                return 2;
            }
            throw e;
        });
        return cli;
    }

    /**
     * Writes {@code result.json} and {@code report.html} into {@code out} and prints the tables
     * and where the files are; the exit code.
     */
    static int publish(BenchResult result, Path out) throws IOException {
        Path file = result.write(out);
        System.out.println();
        System.out.print(Tables.render(result));
        System.out.println("\nResult: " + file + "\nReport: " + out.resolve("report.html"));
        return 0;
    }

    /** The command line this process was started with, for the result file. */
    static List<String> arguments() {
        return arguments;
    }
}
