package io.courier.bench.cli;

import io.courier.bench.fleet.LoadGeneratorCommand;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code courier-bench} executable. */
@Command(name = "courier-bench", mixinStandardHelpOptions = true, version = "courier-bench 0.1.0",
    description = "Courier's benchmark suite: transports side by side, floors, an MQTT peer, reports.",
    subcommands = {LatencyCommand.class, ThroughputCommand.class, DensityCommand.class, FloorCommand.class,
        PeerCommand.class, CompareCommand.class, ReportCommand.class, JmhCommand.class, LoadGeneratorCommand.class})
public final class BenchMain {

    private static List<String> arguments = List.of();

    private BenchMain() {
    }

    public static void main(String[] args) {
        arguments = List.of(args);
        CommandLine cli = new CommandLine(new BenchMain());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof IllegalArgumentException) {
                cmd.getErr().println("courier-bench: " + e.getMessage());
                cmd.usage(cmd.getErr());
                return 2;
            }
            throw e;
        });
        int code = args.length > 0 && args[0].equals("jmh")
            // JMH parses its own arguments (and they look like options to picocli).
            ? run(() -> org.openjdk.jmh.Main.main(java.util.Arrays.copyOfRange(args, 1, args.length)))
            : cli.execute(args);
        System.exit(code);
    }

    private interface Body {
        void run() throws Exception;
    }

    private static int run(Body body) {
        try {
            body.run();
            return 0;
        } catch (Exception e) {
            e.printStackTrace();
            return 1;
        }
    }

    /** The command line this process was started with, for the result file. */
    static List<String> arguments() {
        return arguments;
    }
}
