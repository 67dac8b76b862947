package io.courier.server;

/** The configuration is wrong; the message names the key, the value and what to do. */
public final class ConfigException extends RuntimeException {

    public ConfigException(String message) {
        super(message);
    }
}
