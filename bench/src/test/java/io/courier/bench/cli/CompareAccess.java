package io.courier.bench.cli;

import io.courier.bench.report.BenchResult;

/** Lets tests in other packages reach the package-private comparison. */
public final class CompareAccess {

    private CompareAccess() {
    }

    public static String compare(BenchResult a, BenchResult b) {
        return CompareCommand.compare(a, b);
    }
}
