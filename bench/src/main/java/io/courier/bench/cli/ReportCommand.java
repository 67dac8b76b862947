package io.courier.bench.cli;

import io.courier.bench.report.BenchResult;
import io.courier.bench.report.HtmlReport;
import io.courier.bench.report.ResultFileException;
import io.courier.bench.report.Tables;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code report FILE}: prints a result's tables again and re-renders its HTML report beside it. */
@Command(name = "report", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "Print a result's tables and re-render its report.html.")
public final class ReportCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "A result.json.")
    Path file;

    @Override
    public Integer call() {
        BenchResult result = BenchResult.read(file);
        Path html = file.toAbsolutePath().resolveSibling("report.html");
        try {
            Files.writeString(html, HtmlReport.render(result));
        } catch (IOException e) {
            throw new ResultFileException("cannot write " + html + " (" + e + "); copy " + file
                + " into a folder you can write to and report it there", e);
        }
        System.out.print(Tables.render(result));
        System.out.println("\nReport: " + html);
        return 0;
    }
}
