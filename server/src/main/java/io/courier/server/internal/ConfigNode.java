package io.courier.server.internal;

import io.courier.server.ConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * One key of the configuration as read: a section of further keys, or a single value kept as the
 * text that was written (so {@code yes} stays {@code "yes"} instead of becoming YAML 1.1's
 * {@code true}), with where it came from — a file and line, a {@code --set}, the built-in
 * defaults — so any message about it can say so.
 */
public final class ConfigNode {

    private final String key;
    private final String origin;
    private final String value;
    private final Map<String, ConfigNode> children;

    private ConfigNode(String key, String origin, String value, Map<String, ConfigNode> children) {
        this.key = key;
        this.origin = origin;
        this.value = value;
        this.children = children;
    }

    /** An empty section: the root of a configuration. */
    public static ConfigNode root(String origin) {
        return new ConfigNode("", origin, null, new LinkedHashMap<>());
    }

    /**
     * Reads one YAML document whose top level is a mapping.
     *
     * @param source names the file in origins, e.g. {@code /etc/courier.yaml}.
     * @throws ConfigException with the file, line and column of a syntax error or duplicate key.
     */
    public static ConfigNode readYaml(InputStream in, String source) {
        Node document;
        try (Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            document = new Yaml(new SafeConstructor(new LoaderOptions())).compose(reader);
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            throw new ConfigException(source + (mark == null ? "" : " line " + (mark.getLine() + 1) + ", column "
                + (mark.getColumn() + 1)) + ": " + (e.getProblem() != null ? e.getProblem() : e.getMessage())
                + (e.getContext() != null ? " (" + e.getContext() + ")" : "") + "; the file is not valid YAML");
        } catch (YAMLException | IOException e) {
            throw new ConfigException("Cannot read " + source + ": " + e.getMessage());
        }
        ConfigNode root = root(source);
        if (document == null || isNull(document)) {
            return root;
        }
        if (!(document instanceof MappingNode mapping)) {
            throw new ConfigException(source + " line " + line(document) + ": the top level must be keys and values "
                + "(key: value), as in courier.example.yaml");
        }
        root.addAll(mapping, source);
        return root;
    }

    private void addAll(MappingNode mapping, String source) {
        for (NodeTuple tuple : mapping.getValue()) {
            if (!(tuple.getKeyNode() instanceof ScalarNode keyNode)) {
                throw new ConfigException(source + " line " + line(tuple.getKeyNode()) + ": a key must be a plain name");
            }
            String name = keyNode.getValue();
            String childKey = path(name);
            String where = source + " line " + line(keyNode);
            ConfigNode previous = children.get(name);
            if (previous != null) {
                throw new ConfigException(childKey + " is given twice (" + previous.origin + " and " + where
                    + "); keep one");
            }
            Node valueNode = tuple.getValueNode();
            ConfigNode child;
            if (valueNode instanceof MappingNode nested) {
                child = new ConfigNode(childKey, where, null, new LinkedHashMap<>());
                child.addAll(nested, source);
            } else if (valueNode instanceof ScalarNode scalar) {
                child = new ConfigNode(childKey, where, isNull(scalar) ? null : scalar.getValue(), null);
            } else {
                throw new ConfigException(childKey + " (" + where + ") is a list; Courier's keys take a single value "
                    + "(comma-separated where several are allowed) or a section of keys");
            }
            children.put(name, child);
        }
    }

    /**
     * Overlays {@code other} onto this section: a value replaces a value, sections merge key by
     * key, and each key keeps the origin of whoever wrote it last.
     */
    public void overlay(ConfigNode other) {
        for (ConfigNode incoming : other.children.values()) {
            String name = incoming.name();
            ConfigNode current = children.get(name);
            if (current != null && current.isSection() && incoming.isSection()) {
                current.overlay(incoming);
            } else {
                children.put(name, incoming.copyUnder(path(name)));
            }
        }
    }

    private ConfigNode copyUnder(String newKey) {
        if (!isSection()) {
            return new ConfigNode(newKey, origin, value, null);
        }
        ConfigNode copy = new ConfigNode(newKey, origin, null, new LinkedHashMap<>());
        children.forEach((name, child) -> copy.children.put(name, child.copyUnder(copy.path(name))));
        return copy;
    }

    /**
     * Sets {@code dotted.key} to {@code text}, creating the sections on the way.
     *
     * @param origin e.g. {@code --set transports.tcp.port=7200}.
     */
    public void set(String dottedKey, String text, String origin) {
        String[] parts = dottedKey.split("\\.", -1);
        ConfigNode node = this;
        for (int i = 0; i < parts.length; i++) {
            String name = parts[i];
            if (name.isBlank()) {
                throw new ConfigException("'" + dottedKey + "' (" + origin + ") is not a key: keys are names joined by "
                    + "dots, e.g. transports.tcp.port");
            }
            if (i == parts.length - 1) {
                node.children.put(name, new ConfigNode(node.path(name), origin, text, null));
            } else {
                ConfigNode next = node.children.get(name);
                if (next == null || !next.isSection()) {
                    next = new ConfigNode(node.path(name), origin, null, new LinkedHashMap<>());
                    node.children.put(name, next);
                }
                node = next;
            }
        }
    }

    /** The full dotted key, e.g. {@code transports.tcp.port}; empty for the root. */
    public String key() {
        return key;
    }

    /** The last part of the key. */
    public String name() {
        return key.substring(key.lastIndexOf('.') + 1);
    }

    /** Where it was written, e.g. {@code /etc/courier.yaml line 12} or {@code --set admin.port=0}. */
    public String origin() {
        return origin;
    }

    /** Whether this key holds further keys (also when written as {@code key: {}}). */
    public boolean isSection() {
        return children != null;
    }

    /** The text written, or {@code null} for a section or an empty value ({@code key:} or {@code ~}). */
    public String value() {
        return value;
    }

    /** The keys of a section, in the order written; empty for a value. */
    public Map<String, ConfigNode> children() {
        return children == null ? Map.of() : Collections.unmodifiableMap(children);
    }

    private String path(String name) {
        return key.isEmpty() ? name : key + "." + name;
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
    }

    private static int line(Node node) {
        return node.getStartMark() == null ? 0 : node.getStartMark().getLine() + 1;
    }
}
