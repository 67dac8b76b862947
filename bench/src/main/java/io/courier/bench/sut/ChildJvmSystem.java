package io.courier.bench.sut;

import java.util.Map;

/** A system under test that this run started as a JVM of its own: what every such system answers. */
abstract class ChildJvmSystem implements SystemUnderTest {

    private final String name;
    private final Kind kind;
    private final String address;
    private final ChildProcess child;
    private final Map<String, Object> description;

    ChildJvmSystem(String name, Kind kind, String address, ChildProcess child, Map<String, Object> description) {
        this.name = name;
        this.kind = kind;
        this.address = address;
        this.child = child;
        this.description = description;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final Kind kind() {
        return kind;
    }

    @Override
    public final String address() {
        return address;
    }

    @Override
    public final long pid() {
        return child.pid();
    }

    @Override
    public final boolean isJvm() {
        return true;
    }

    @Override
    public final Map<String, Object> describe() {
        return description;
    }

    /** SIGTERM, then SIGKILL if it does not stop in time. */
    @Override
    public final void close() {
        child.close();
    }
}
