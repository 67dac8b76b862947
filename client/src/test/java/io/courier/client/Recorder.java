package io.courier.client;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A listener that keeps everything it is told, for assertions. */
final class Recorder implements CourierListener {

    final List<Message> arrived = new CopyOnWriteArrayList<>();
    final Map<String, List<MessageState>> states = new ConcurrentHashMap<>();
    final List<Message> notSentYet = new CopyOnWriteArrayList<>();
    final List<ConnectionStatus> connection = new CopyOnWriteArrayList<>();
    final List<Presence> presence = new CopyOnWriteArrayList<>();
    /** Safety number changes as "user: number", in order. */
    final List<String> safetyNumberChanges = new CopyOnWriteArrayList<>();

    @Override
    public void onMessage(Message message) {
        arrived.add(message);
    }

    @Override
    public void onStateChanged(Message message) {
        states.computeIfAbsent(message.clientId(), k -> new CopyOnWriteArrayList<>()).add(message.state());
    }

    @Override
    public void onNotSentYet(Message message) {
        notSentYet.add(message);
    }

    @Override
    public void onConnectionChanged(ConnectionStatus status) {
        connection.add(status);
    }

    @Override
    public void onPresence(Presence p) {
        presence.add(p);
    }

    @Override
    public void onSafetyNumberChanged(String user, String safetyNumber) {
        safetyNumberChanges.add(user + ": " + safetyNumber);
    }

    /** The latest presence announced for {@code user}, or null. */
    Presence latest(String user) {
        Presence last = null;
        for (Presence p : presence) {
            if (p.user().equals(user)) {
                last = p;
            }
        }
        return last;
    }

    long connectedCount() {
        return connection.stream().filter(s -> s.state() == ConnectionState.CONNECTED).count();
    }
}
