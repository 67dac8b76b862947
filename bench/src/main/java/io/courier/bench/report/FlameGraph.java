package io.courier.bench.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A flame graph from collapsed stacks — one line per distinct stack, {@code root;…;leaf COUNT}, as
 * async-profiler's {@code collapsed} output and other profilers write them — rendered as one
 * self-contained SVG: no scripts, so it shows the same in a browser, an editor and on a code host.
 * A frame's width is its share of all samples; callers sit below their callees; frames narrower
 * than {@value #MIN_WIDTH_PX} px are left out (their samples still count in their callers' width).
 * Colour says what ran: Java (green), native code (orange), the kernel (red, frames marked
 * {@code _[k]}); each frame's title, shown on hover, gives its name, samples and share.
 */
public final class FlameGraph {

    static final double MIN_WIDTH_PX = 0.5;
    private static final int WIDTH = 1200;
    private static final int FRAME_HEIGHT = 16;
    private static final int TOP = 34;
    private static final double CHAR_PX = 6.6;

    /** One frame of the merged call tree. */
    static final class Node {
        final String name;
        long samples;
        final Map<String, Node> children = new LinkedHashMap<>();

        Node(String name) {
            this.name = name;
        }

        Node child(String frame) {
            return children.computeIfAbsent(frame, Node::new);
        }

        int depth() {
            return depth(0);
        }

        /** Rows needed to draw this frame and those of its callees with at least {@code minSamples}. */
        int depth(double minSamples) {
            int deepest = 0;
            for (Node child : children.values()) {
                if (child.samples >= minSamples) {
                    deepest = Math.max(deepest, child.depth(minSamples));
                }
            }
            return deepest + 1;
        }
    }

    private FlameGraph() {
    }

    /**
     * Merges collapsed stacks into one tree under a root named {@code all}.
     *
     * @throws IllegalArgumentException naming the line when one is not {@code frames COUNT}.
     */
    static Node parse(List<String> lines) {
        Node root = new Node("all");
        int number = 0;
        for (String line : lines) {
            number++;
            String trimmed = line.strip();
            if (trimmed.isEmpty()) {
                continue;
            }
            int space = trimmed.lastIndexOf(' ');
            long count;
            try {
                count = space > 0 ? Long.parseLong(trimmed.substring(space + 1)) : -1;
            } catch (NumberFormatException e) {
                count = -1;
            }
            if (count < 0) {
                throw new IllegalArgumentException("line " + number + " is not collapsed stacks "
                    + "('frame;frame;... COUNT'): " + (trimmed.length() > 80 ? trimmed.substring(0, 80) + "…" : trimmed));
            }
            root.samples += count;
            Node node = root;
            for (String frame : trimmed.substring(0, space).split(";")) {
                node = node.child(frame);
                node.samples += count;
            }
        }
        return root;
    }

    /**
     * @param title shown above the graph, with the sample count.
     * @throws IllegalArgumentException for a malformed line, or when there are no samples.
     */
    public static String render(List<String> collapsedLines, String title) {
        Node root = parse(collapsedLines);
        if (root.samples == 0) {
            throw new IllegalArgumentException("no samples: the collapsed stacks are empty");
        }
        // Only as tall as the frames drawn: a rare deep stack too narrow to draw adds no rows.
        int depth = root.depth(MIN_WIDTH_PX * root.samples / WIDTH);
        int height = TOP + depth * FRAME_HEIGHT + 10;
        StringBuilder svg = new StringBuilder(64 * 1024);
        svg.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(WIDTH).append("\" height=\"")
            .append(height).append("\" viewBox=\"0 0 ").append(WIDTH).append(' ').append(height)
            .append("\" font-family=\"monospace\" font-size=\"11\">\n");
        svg.append("<rect width=\"100%\" height=\"100%\" fill=\"#fdfdf6\"/>\n");
        svg.append("<text x=\"").append(WIDTH / 2).append("\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">")
            .append(escape(title + " — " + String.format(Locale.ROOT, "%,d", root.samples) + " samples"))
            .append("</text>\n");
        double scale = (double) WIDTH / root.samples;
        List<Object[]> level = new ArrayList<>();
        level.add(new Object[] {root, 0.0});
        for (int row = 0; !level.isEmpty(); row++) {
            double y = height - 10 - (row + 1) * FRAME_HEIGHT;
            List<Object[]> next = new ArrayList<>();
            for (Object[] placed : level) {
                Node node = (Node) placed[0];
                double x = (double) placed[1];
                double width = node.samples * scale;
                frame(svg, node, x, y, width, root.samples);
                double childX = x;
                for (Node child : node.children.values()) {
                    if (child.samples * scale >= MIN_WIDTH_PX) {
                        next.add(new Object[] {child, childX});
                    }
                    childX += child.samples * scale;
                }
            }
            level = next;
        }
        return svg.append("</svg>\n").toString();
    }

    private static void frame(StringBuilder svg, Node node, double x, double y, double width, long total) {
        svg.append("<g><title>").append(escape(node.name)).append(" (")
            .append(String.format(Locale.ROOT, "%,d samples, %.2f%%", node.samples, 100.0 * node.samples / total))
            .append(")</title><rect x=\"").append(fmt(x)).append("\" y=\"").append(fmt(y)).append("\" width=\"")
            .append(fmt(Math.max(width - 0.5, 0.1))).append("\" height=\"").append(FRAME_HEIGHT - 1)
            .append("\" fill=\"").append(colour(node.name)).append("\" rx=\"2\"/>");
        int fits = (int) ((width - 6) / CHAR_PX);
        if (fits >= 3) {
            String label = node.name.length() <= fits ? node.name : node.name.substring(0, fits - 2) + "..";
            svg.append("<text x=\"").append(fmt(x + 3)).append("\" y=\"").append(fmt(y + FRAME_HEIGHT - 4.5))
                .append("\">").append(escape(label)).append("</text>");
        }
        svg.append("</g>\n");
    }

    /** Java frames green, the kernel's red, other native code orange; shades vary by name. */
    static String colour(String name) {
        int shade = Math.floorMod(name.hashCode(), 40);
        if (name.endsWith("_[k]")) {
            return "rgb(" + (215 + shade / 2) + "," + (60 + shade) + "," + (50 + shade / 2) + ")";
        }
        boolean java = name.endsWith("_[j]") || name.endsWith("_[i]")
            || (name.indexOf('.') > 0 && name.indexOf("::") < 0 && !name.startsWith("["));
        if (java) {
            return "rgb(" + (80 + shade) + "," + (180 + shade / 2) + "," + (70 + shade / 2) + ")";
        }
        return "rgb(" + (225 + shade / 2) + "," + (140 + shade) + "," + (40 + shade / 2) + ")";
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
