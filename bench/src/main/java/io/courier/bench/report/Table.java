package io.courier.bench.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A table of a result, for both places it is read: plain text for the terminal (first column
 * left-aligned, the rest right-aligned) and an HTML {@code <table>} for the report. A cell can be
 * {@linkplain #flag flagged}: marked "!" on the terminal and highlighted in the report, for a value
 * that a note under the table explains.
 */
public final class Table {

    /** A cell to draw the eye to; {@link #notes} say why. */
    public record Flagged(String text) {
        @Override
        public String toString() {
            return text;
        }
    }

    private final String title;
    private final String[] headers;
    private final List<Object[]> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private final List<String> explanations = new ArrayList<>();

    /** A table without a title, for callers that print their own headings. */
    public Table(String... headers) {
        this(null, headers);
    }

    public Table(String title, String[] headers) {
        this.title = title;
        this.headers = headers.clone();
    }

    /** Adds a row; a cell is a {@link Flagged} or anything else, shown as its {@code toString()}. */
    public Table row(Object... cells) {
        rows.add(cells.clone());
        return this;
    }

    /** Adds a warning shown under the table. */
    public Table note(String note) {
        notes.add(note);
        return this;
    }

    /** Adds a plain explanation shown under the table (how a column was measured), not a warning. */
    public Table explain(String text) {
        explanations.add(text);
        return this;
    }

    public static Flagged flag(String text) {
        return new Flagged(text);
    }

    public List<String> notes() {
        return List.copyOf(notes);
    }

    /** The title, the grid and the notes, for the terminal. */
    public String text() {
        StringBuilder out = new StringBuilder();
        if (title != null) {
            out.append(title).append('\n');
        }
        out.append(render());
        for (String note : notes) {
            out.append("! ").append(note).append('\n');
        }
        for (String text : explanations) {
            out.append("  ").append(text).append('\n');
        }
        return out.toString();
    }

    /** The grid alone, as text: header, rule, rows. Flagged cells end in " !". */
    public String render() {
        List<String[]> lines = new ArrayList<>();
        lines.add(headers);
        for (Object[] row : rows) {
            lines.add(Arrays.stream(row).map(c -> c instanceof Flagged f ? f.text() + " !" : String.valueOf(c))
                .toArray(String[]::new));
        }
        int columns = lines.stream().mapToInt(r -> r.length).max().orElse(0);
        int[] width = new int[columns];
        for (String[] line : lines) {
            for (int c = 0; c < line.length; c++) {
                width[c] = Math.max(width[c], line[c].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < lines.size(); r++) {
            String[] line = lines.get(r);
            for (int c = 0; c < line.length; c++) {
                String cell = line[c];
                String pad = " ".repeat(width[c] - cell.length());
                out.append(c == 0 ? cell + pad : pad + cell).append(c < line.length - 1 ? "  " : "");
            }
            out.append('\n');
            if (r == 0) {
                int total = Arrays.stream(width).sum() + 2 * (columns - 1);
                out.append("-".repeat(total)).append('\n');
            }
        }
        return out.toString();
    }

    /**
     * The table as HTML (well-formed XML too): the title as its caption, a header row, one row
     * each, flagged cells of class {@code warn}; the notes follow as warnings.
     */
    public String html() {
        StringBuilder out = new StringBuilder("<table>");
        if (title != null) {
            out.append("<caption>").append(HtmlReport.esc(title)).append("</caption>");
        }
        out.append("\n<thead><tr>");
        for (String header : headers) {
            out.append("<th>").append(HtmlReport.esc(header)).append("</th>");
        }
        out.append("</tr></thead>\n<tbody>\n");
        for (Object[] row : rows) {
            out.append("<tr>");
            for (Object cell : row) {
                if (cell instanceof Flagged f) {
                    out.append("<td class=\"warn\">").append(HtmlReport.esc(f.text())).append(" !</td>");
                } else {
                    out.append("<td>").append(HtmlReport.esc(String.valueOf(cell))).append("</td>");
                }
            }
            out.append("</tr>\n");
        }
        out.append("</tbody></table>\n");
        for (String note : notes) {
            out.append("<p class=\"warning\"><strong>Warning:</strong> ").append(HtmlReport.esc(note)).append("</p>\n");
        }
        for (String text : explanations) {
            out.append("<p class=\"samples\">").append(HtmlReport.esc(text)).append("</p>\n");
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
