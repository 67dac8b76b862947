package io.courier.bench.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.courier.bench.report.BenchResult;
import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The command line as people meet it: what --help promises, --version, and refusals. */
class CommandLineTest {

    /** An option line of picocli's usage help: "  -h, --help …" or "      --pairs=<pairs> …". */
    private static final Pattern OPTION_LINE = Pattern.compile("^ {2,}(?:-\\w, )?(--[a-z][\\w-]*)", Pattern.MULTILINE);

    @TempDir
    Path dir;

    /** What a command printed and returned. */
    private record Outcome(int exit, String out, String err) {
    }

    private static Outcome execute(String... args) {
        CommandLine cli = BenchMain.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Outcome(exit, out.toString(), err.toString());
    }

    private static List<String> visibleCommands() {
        return BenchMain.commandLine().getSubcommands().values().stream()
            .filter(c -> !c.getCommandSpec().usageMessage().hidden()).map(CommandLine::getCommandName).toList();
    }

    private static List<String> listedOptions(String help) {
        List<String> options = new ArrayList<>();
        Matcher m = OPTION_LINE.matcher(help);
        while (m.find()) {
            options.add(m.group(1));
        }
        return options;
    }

    /** A value the option's type takes, or none for a flag. */
    private static List<String> sample(OptionSpec option) {
        if (option.arity().max() == 0) {
            return List.of();
        }
        Class<?> type = option.isMultiValue() && !Map.class.isAssignableFrom(option.type())
            ? option.auxiliaryTypes()[0] : option.type();
        if (Map.class.isAssignableFrom(type)) {
            return List.of("key=value");
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class
            || type == double.class || type == Double.class) {
            return List.of("1");
        }
        return List.of("x");
    }

    @Test
    void shouldAcceptEveryOptionItsHelpLists() {
        assertThat(visibleCommands()).contains("latency", "rtt", "throughput", "density", "floor", "peer", "compare", "report",
            "jmh");
        for (String command : visibleCommands()) {
            Outcome help = execute(command, "--help");
            assertThat(help.exit()).as(command + " --help").isZero();
            List<String> listed = listedOptions(help.out());
            assertThat(listed).as(command + " --help lists --help and --version").contains("--help", "--version");
            for (String option : listed) {
                CommandLine cli = BenchMain.commandLine();
                OptionSpec spec = cli.getSubcommands().get(command).getCommandSpec().findOption(option);
                assertThat(spec).as(command + " declares " + option).isNotNull();
                List<String> args = new ArrayList<>(List.of(command, option));
                args.addAll(sample(spec));
                // A command's required files (flame FILE, compare A B) come after its options.
                cli.getSubcommands().get(command).getCommandSpec().positionalParameters().stream()
                    .filter(p -> p.arity().min() > 0).forEach(p -> args.add("x"));
                CommandLine.ParseResult parsed = cli.parseArgs(args.toArray(String[]::new));
                assertThat(parsed.subcommand().hasMatchedOption(option)).as(String.join(" ", args)).isTrue();
            }
        }
    }

    @Test
    void shouldListNoOptionOfAnotherCommand() {
        Map<String, List<String>> absent = Map.of(
            "floor", List.of("--transports", "--peer", "--peer-pid", "--storage", "--set"),
            "peer", List.of("--transports", "--floors", "--server-jvm-args", "--storage", "--set"),
            "density", List.of("--floors", "--storage", "--rate", "--pairs", "--target-option"));
        absent.forEach((command, options) -> {
            List<String> listed = listedOptions(execute(command, "--help").out());
            assertThat(listed).as(command + " --help").doesNotContainAnyElementsOf(options);
            for (String option : options) {
                assertThatThrownBy(() -> BenchMain.commandLine().parseArgs(command, option, "x"))
                    .as(command + " " + option).isInstanceOf(CommandLine.UnmatchedArgumentException.class)
                    .hasMessageContaining(option);
            }
        });
        assertThat(listedOptions(execute("latency", "--help").out()))
            .contains("--transports", "--floors", "--peer", "--storage", "--set", "--server-jvm-args", "--rate");
        assertThat(listedOptions(execute("rtt", "--help").out()))
            .contains("--transports", "--floors", "--peer", "--storage", "--set", "--server-jvm-args", "--rate");
    }

    @Test
    void shouldRefuseRoundTripsWhereTheyCannotBeMeasuredBeforeStartingAnything() {
        Outcome aeron = execute("rtt", "--transports", "none", "--floors", "aeron-ipc", "--out", dir.toString());
        assertThat(aeron.exit()).isEqualTo(2);
        assertThat(aeron.err()).contains("--floors for rtt can only be relay");
        Outcome viaOption = execute("latency", "--target-option", "rtt=true", "--out", dir.toString());
        assertThat(viaOption.exit()).isEqualTo(2);
        assertThat(viaOption.err()).contains("run the rtt command for round trips");
    }

    @Test
    void shouldRefuseAnOptionOfAnotherCommandNamingIt() {
        Outcome outcome = execute("floor", "--transports", "tcp");
        assertThat(outcome.exit()).isEqualTo(2);
        assertThat(outcome.err()).contains("Unknown option", "'--transports'");
    }

    @Test
    void shouldPrintTheMavenProjectVersionOnEveryCommand() {
        String expected = System.getProperty("courier.bench.expectedVersion");
        assertThat(expected).as("the build passes the project version to the tests").isNotBlank();
        List<String> commands = new ArrayList<>(BenchMain.commandLine().getSubcommands().keySet());
        assertThat(commands).contains("loadgen");
        for (String command : commands) {
            Outcome outcome = execute(command, "--version");
            assertThat(outcome.exit()).as(command + " --version").isZero();
            assertThat(outcome.out().strip()).as(command + " --version").isEqualTo("courier-bench " + expected);
        }
        assertThat(execute("--version").out().strip()).isEqualTo("courier-bench " + expected);
    }

    @Test
    void shouldNameAMissingResultFileInOneLineWithoutAStackTrace() {
        Path missing = dir.resolve("nowhere").resolve("result.json");
        Outcome outcome = execute("report", missing.toString());
        assertThat(outcome.exit()).isEqualTo(2);
        assertOneLine(outcome.err(), missing, "no such file");
    }

    @Test
    void shouldNameAResultFileThatIsNotJsonInOneLine() throws Exception {
        Path notJson = Files.writeString(dir.resolve("result.json"), "<html/>");
        Outcome outcome = execute("report", notJson.toString());
        assertThat(outcome.exit()).isEqualTo(2);
        assertOneLine(outcome.err(), notJson, "is not JSON");
    }

    @Test
    void shouldNameTheMissingFileOfACompare() throws Exception {
        Path a = BenchResult.begin("latency", List.of(), new JsonObject()).write(dir.resolve("a"));
        Path b = dir.resolve("b").resolve("result.json");
        Outcome outcome = execute("compare", a.toString(), b.toString());
        assertThat(outcome.exit()).isEqualTo(2);
        assertOneLine(outcome.err(), b, "no such file");
    }

    private static void assertOneLine(String err, Path file, String what) {
        assertThat(err.lines().toList()).as(err).singleElement().satisfies(line -> assertThat(line)
            .startsWith("courier-bench ").contains(file.toString(), what, "give the result.json")
            .doesNotContain("Exception"));
    }
}
