package io.courier.router.internal;

import io.courier.storage.DeviceId;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/** The design's user table: which device has a live session, and who is online. Thread-safe. */
public final class SessionTable {

    private final Map<DeviceId, Session> byDevice = new ConcurrentHashMap<>();
    private final Map<String, Integer> devicesOnline = new ConcurrentHashMap<>();
    private volatile Consumer<String> onlineChanged = user -> { };

    /**
     * Tells {@code listener} (on the thread that changed it) the user whose first device came
     * online or whose last went offline. Transitions on different threads may be reported out of
     * order: the listener reads {@link #isOnline} for the truth.
     */
    public void onOnlineChanged(Consumer<String> listener) {
        this.onlineChanged = listener;
    }

    /** Registers {@code session}, returning the session it replaces for the same device, if any. */
    public Session put(Session session) {
        Session previous = byDevice.put(session.device(), session);
        if (previous == null && devicesOnline.merge(session.device().user(), 1, Integer::sum) == 1) {
            onlineChanged.accept(session.device().user());
        }
        return previous;
    }

    /**
     * Removes {@code session} if it is still the registered one for its device.
     *
     * @return whether it was (false: a newer session of the device had replaced it).
     */
    public boolean remove(Session session) {
        if (!byDevice.remove(session.device(), session)) {
            return false;
        }
        if (devicesOnline.computeIfPresent(session.device().user(), (user, count) -> count == 1 ? null : count - 1)
            == null) {
            onlineChanged.accept(session.device().user());
        }
        return true;
    }

    public Session get(DeviceId device) {
        return byDevice.get(device);
    }

    public boolean isOnline(String user) {
        return devicesOnline.containsKey(user);
    }

    public int size() {
        return byDevice.size();
    }

    public int mailboxDepth() {
        int depth = 0;
        for (Session session : byDevice.values()) {
            depth += session.mailboxDepth();
        }
        return depth;
    }

    public void forEach(Consumer<Session> action) {
        byDevice.values().forEach(action);
    }
}
