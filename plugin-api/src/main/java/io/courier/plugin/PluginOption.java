package io.courier.plugin;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Collection;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One option a plug-in (a transport, a storage backend, an authenticator) takes: its name, its
 * type, its default and what it means. A plug-in declares its options once, as constants, and
 * reads them through the same constants, so the declaration is the only place the default is
 * written down. The server checks every configured option against the selected plug-in's
 * declarations before it starts: an undeclared name or a value of the wrong type stops start-up
 * naming the key, the value and where it came from.
 *
 * <p>Values arrive as strings and are parsed strictly: a {@link Type#BOOLEAN} is exactly
 * {@code true} or {@code false} (not {@code yes}, {@code on} or {@code 1}); a
 * {@link Type#POSITIVE_INTEGER} is decimal digits, optionally grouped with underscores
 * ({@code 65_536}), above zero; a {@link Type#DURATION} is an ISO-8601 duration above zero
 * ({@code P30D}, {@code PT12H}).
 *
 * @param name         the key under the plug-in's {@code options} section, e.g. {@code window}.
 * @param type         what values it takes.
 * @param defaultValue the value when the option is absent, as it would be written in
 *                     configuration; {@code null} when the plug-in computes it (the description
 *                     says how, e.g. "CPU cores").
 * @param description  one line for documentation and error messages.
 */
public record PluginOption(String name, Type type, String defaultValue, String description) {

    /** What values an option takes. */
    public enum Type {
        /** {@code true} or {@code false}, nothing else. */
        BOOLEAN("true or false"),
        /** A whole number above zero that fits in 32 bits. */
        POSITIVE_INTEGER("a positive integer"),
        /** A decimal number above zero, e.g. {@code 20} or {@code 0.5}. */
        POSITIVE_NUMBER("a positive number"),
        /** An ISO-8601 duration above zero as {@link Duration#parse} reads it, e.g. {@code P30D} or {@code PT12H}. */
        DURATION("an ISO-8601 duration above zero, e.g. P30D or PT12H"),
        /** Any text. */
        TEXT("text");

        private final String expected;

        Type(String expected) {
            this.expected = expected;
        }

        /** What a value must be, for messages: "true or false". */
        public String expected() {
            return expected;
        }
    }

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9.-]*");
    private static final Pattern DIGITS = Pattern.compile("[0-9]+(_[0-9]+)*");
    private static final Pattern DECIMAL = Pattern.compile("[0-9]+(\\.[0-9]+)?");

    /**
     * @throws IllegalArgumentException when the name is not lower-case kebab case or the default
     *     is not a valid value of the type (a mistake in the plug-in, not in configuration).
     */
    public PluginOption {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(description, "description");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("An option name is lower-case kebab case, was '" + name + "'");
        }
        if (defaultValue != null) {
            Optional<String> problem = problemOf(type, defaultValue);
            if (problem.isPresent()) {
                throw new IllegalArgumentException("The default of option '" + name + "' " + problem.get()
                    + ", was '" + defaultValue + "'");
            }
        }
    }

    /** A {@link Type#BOOLEAN} option. */
    public static PluginOption flag(String name, boolean defaultValue, String description) {
        return new PluginOption(name, Type.BOOLEAN, Boolean.toString(defaultValue), description);
    }

    /** A {@link Type#POSITIVE_INTEGER} option with a fixed default. */
    public static PluginOption positiveInt(String name, int defaultValue, String description) {
        return new PluginOption(name, Type.POSITIVE_INTEGER, Integer.toString(defaultValue), description);
    }

    /** A {@link Type#POSITIVE_INTEGER} option whose default the plug-in computes (say how in the description). */
    public static PluginOption positiveInt(String name, String description) {
        return new PluginOption(name, Type.POSITIVE_INTEGER, null, description);
    }

    /** A {@link Type#POSITIVE_NUMBER} option. */
    public static PluginOption positiveNumber(String name, double defaultValue, String description) {
        return new PluginOption(name, Type.POSITIVE_NUMBER,
            BigDecimal.valueOf(defaultValue).stripTrailingZeros().toPlainString(), description);
    }

    /** A {@link Type#DURATION} option; the default as it would be written, e.g. {@code "P30D"}. */
    public static PluginOption duration(String name, String defaultValue, String description) {
        return new PluginOption(name, Type.DURATION, Objects.requireNonNull(defaultValue, "defaultValue"), description);
    }

    /** A {@link Type#TEXT} option with a fixed default. */
    public static PluginOption text(String name, String defaultValue, String description) {
        return new PluginOption(name, Type.TEXT, Objects.requireNonNull(defaultValue, "defaultValue"), description);
    }

    /** A {@link Type#TEXT} option whose default the plug-in computes (say how in the description). */
    public static PluginOption text(String name, String description) {
        return new PluginOption(name, Type.TEXT, null, description);
    }

    /** Whether {@link #defaultValue()} is fixed (not computed by the plug-in). */
    public boolean hasDefault() {
        return defaultValue != null;
    }

    /**
     * What is wrong with {@code value} for this option, e.g. {@code "must be true or false"}, or
     * empty when it is a valid value.
     */
    public Optional<String> problem(String value) {
        return problemOf(type, value);
    }

    /**
     * The option's value in {@code options}, checked, or the default when absent.
     *
     * @return {@code null} when absent and the default is computed.
     * @throws IllegalArgumentException naming the option and the bad value.
     */
    public String valueIn(Map<String, String> options) {
        String value = options.get(name);
        if (value == null) {
            return defaultValue;
        }
        Optional<String> problem = problem(value);
        if (problem.isPresent()) {
            throw new IllegalArgumentException("Option '" + name + "' " + problem.get() + ", was '" + value + "'");
        }
        return value;
    }

    /** As {@link #valueIn}, for a {@link Type#BOOLEAN} option. */
    public boolean booleanIn(Map<String, String> options) {
        expect(Type.BOOLEAN);
        return Boolean.parseBoolean(valueIn(options));
    }

    /** As {@link #valueIn}, for a {@link Type#POSITIVE_INTEGER} option with a fixed default. */
    public int intIn(Map<String, String> options) {
        expect(Type.POSITIVE_INTEGER);
        return Integer.parseInt(required(valueIn(options)).replace("_", ""));
    }

    /** As {@link #valueIn}, for a {@link Type#POSITIVE_INTEGER} option; {@code computed} when absent. */
    public int intIn(Map<String, String> options, int computed) {
        expect(Type.POSITIVE_INTEGER);
        String value = options.containsKey(name) ? valueIn(options) : null;
        return value == null ? computed : Integer.parseInt(value.replace("_", ""));
    }

    /** As {@link #valueIn}, for a {@link Type#POSITIVE_NUMBER} option. */
    public double numberIn(Map<String, String> options) {
        expect(Type.POSITIVE_NUMBER);
        return Double.parseDouble(required(valueIn(options)));
    }

    /** As {@link #valueIn}, for a {@link Type#DURATION} option with a fixed default. */
    public Duration durationIn(Map<String, String> options) {
        expect(Type.DURATION);
        return Duration.parse(required(valueIn(options)));
    }

    /** As {@link #valueIn}, for a {@link Type#TEXT} option; {@code computed} when absent and computed. */
    public String textIn(Map<String, String> options, String computed) {
        expect(Type.TEXT);
        String value = valueIn(options);
        return value == null ? computed : value;
    }

    /** As {@link #valueIn}, for a {@link Type#TEXT} option with a fixed default. */
    public String textIn(Map<String, String> options) {
        expect(Type.TEXT);
        return required(valueIn(options));
    }

    /** The option named {@code name} among {@code options}. */
    public static Optional<PluginOption> find(Collection<PluginOption> options, String name) {
        return options.stream().filter(o -> o.name().equals(name)).findFirst();
    }

    /** The names, sorted and comma-separated, or {@code "none"}: for "its options are …" messages. */
    public static String names(Collection<PluginOption> options) {
        return options.isEmpty() ? "none"
            : options.stream().map(PluginOption::name).sorted().collect(Collectors.joining(", "));
    }

    private String required(String value) {
        if (value == null) {
            throw new IllegalStateException("Option '" + name + "' has no fixed default: pass the computed one");
        }
        return value;
    }

    private void expect(Type wanted) {
        if (type != wanted) {
            throw new IllegalStateException("Option '" + name + "' is " + type + ", not " + wanted);
        }
    }

    private static Optional<String> problemOf(Type type, String value) {
        boolean valid = switch (type) {
            case BOOLEAN -> value.equals("true") || value.equals("false");
            case POSITIVE_INTEGER -> isPositiveInt(value);
            case POSITIVE_NUMBER -> DECIMAL.matcher(value).matches() && Double.parseDouble(value) > 0;
            case DURATION -> isPositiveDuration(value);
            case TEXT -> true;
        };
        return valid ? Optional.empty() : Optional.of("must be " + type.expected());
    }

    private static boolean isPositiveDuration(String value) {
        try {
            Duration duration = Duration.parse(value);
            return !duration.isNegative() && !duration.isZero();
        } catch (DateTimeParseException e) {
            return false;
        }
    }

    private static boolean isPositiveInt(String value) {
        if (!DIGITS.matcher(value).matches()) {
            return false;
        }
        try {
            return Integer.parseInt(value.replace("_", "")) > 0;
        } catch (NumberFormatException tooLarge) {
            return false;
        }
    }
}
