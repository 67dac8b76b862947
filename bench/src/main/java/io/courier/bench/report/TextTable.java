package io.courier.bench.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A plain-text table for the terminal: first column left-aligned, the rest right-aligned. */
public final class TextTable {

    private final List<String[]> rows = new ArrayList<>();

    public TextTable(String... headers) {
        rows.add(headers);
    }

    public TextTable row(Object... cells) {
        rows.add(Arrays.stream(cells).map(String::valueOf).toArray(String[]::new));
        return this;
    }

    public String render() {
        int columns = rows.stream().mapToInt(r -> r.length).max().orElse(0);
        int[] width = new int[columns];
        for (String[] row : rows) {
            for (int c = 0; c < row.length; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < rows.size(); r++) {
            String[] row = rows.get(r);
            for (int c = 0; c < row.length; c++) {
                String cell = row[c];
                String pad = " ".repeat(width[c] - cell.length());
                out.append(c == 0 ? cell + pad : pad + cell).append(c < row.length - 1 ? "  " : "");
            }
            out.append('\n');
            if (r == 0) {
                int total = Arrays.stream(width).sum() + 2 * (columns - 1);
                out.append("-".repeat(total)).append('\n');
            }
        }
        return out.toString();
    }

    /** Nanoseconds as milliseconds with three decimals. */
    public static String ms(long nanos) {
        return String.format("%.3f", nanos / 1e6);
    }

    /** A ratio like "1.42×", or "–" when there is nothing to divide by. */
    public static String ratio(double value, double base) {
        return base > 0 ? String.format("%.2f×", value / base) : "–";
    }

    /** A whole number with thousands separators. */
    public static String count(double value) {
        return String.format("%,.0f", value);
    }
}
