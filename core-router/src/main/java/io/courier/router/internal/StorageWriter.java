package io.courier.router.internal;

import com.google.protobuf.ByteString;
import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceDirectory;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.MessageKind;
import io.courier.storage.MessageStore;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import io.courier.transport.Connection;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Send;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that changes the message store. Sessions on any I/O thread offer commands (send,
 * ack, read, register); the writer drains up to {@code maxBatch} of them, turns them into one
 * {@link WriteBatch}, commits it (group commit), and only then answers: single ticks to senders,
 * committed entries to the recipients' sessions. Validation reads (de-duplication, whose inbox an
 * ack refers to) happen here too, so no two commands race on the same entry.
 *
 * <p>Server ids are assigned here, increasing in commit order, continuing after the store's
 * highest id on start-up: per-recipient order is acceptance order.
 */
public final class StorageWriter implements Runnable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(StorageWriter.class);
    private static final int DEVICE_CACHE_LIMIT = 100_000;

    /** Where committed entries go: the live session of a device, if any. */
    public interface SessionLookup {
        Session session(DeviceId device);
    }

    private record EntryKey(DeviceId owner, long serverId) {
    }

    private record SendKey(DeviceId sender, String clientMessageId) {
    }

    private record Offer(DeviceId owner, StoredMessage message) {
    }

    private record Reply(Connection connection, Frame frame) {
    }

    private final ManyToOneConcurrentArrayQueue<Object> queue;
    private final MessageStore store;
    private final DeviceDirectory directory;
    private final SessionLookup sessions;
    private final RouterMetrics metrics;
    private final Clock clock;
    private final RetentionPolicy retention;
    private final int maxBatch;
    private final Thread thread;

    private final WriteBatch batch = new WriteBatch();
    private final List<Object> staged = new ArrayList<>();
    private final List<Offer> offers = new ArrayList<>();
    private final List<Reply> replies = new ArrayList<>();
    private final Map<EntryKey, InboxEntry.State> entryOverlay = new HashMap<>();
    private final Map<SendKey, AcceptedSend> sendOverlay = new HashMap<>();
    private final Map<String, List<DeviceId>> deviceCache = new HashMap<>();

    private final java.util.function.Consumer<Object> stager = this::stage;
    private volatile boolean running = true;
    private volatile boolean parked;
    private long nextServerId;

    /** Commands, as offered by sessions. */
    public record SendCommand(Session session, Send send) {
    }

    public record AckCommand(Session session, DeliveryAck ack) {
    }

    public record ReadCommand(Session session, ReadReceipt read) {
    }

    public record RegisterCommand(DeviceId device) {
    }

    public StorageWriter(MessageStore store, DeviceDirectory directory, SessionLookup sessions, RouterMetrics metrics,
                         Clock clock, int queueCapacity, int maxBatch, RetentionPolicy retention) {
        this.queue = new ManyToOneConcurrentArrayQueue<>(queueCapacity);
        this.store = store;
        this.directory = directory;
        this.sessions = sessions;
        this.metrics = metrics;
        this.clock = clock;
        this.retention = retention;
        this.maxBatch = maxBatch;
        this.nextServerId = store.highestServerId();
        this.thread = new Thread(this, "courier-storage-writer");
        this.thread.setDaemon(true);
        metrics.gauge("courier.storage.queue.depth", "Commands waiting for the storage writer", queue,
            ManyToOneConcurrentArrayQueue::size);
    }

    public void start() {
        thread.start();
    }

    /**
     * Queues a command. Never blocks.
     *
     * @return false when the queue is full: the caller answers OVERLOADED, nothing was stored.
     */
    public boolean offer(Object command) {
        if (!running || !queue.offer(command)) {
            return false;
        }
        if (parked) {
            LockSupport.unpark(thread);
        }
        return true;
    }

    @Override
    public void run() {
        while (running || !queue.isEmpty()) {
            int drained;
            try {
                drained = queue.drain(stager, maxBatch);
            } catch (StagingException e) {
                LOG.error("Storage read failed while preparing a batch; refusing {} commands", staged.size(), e.getCause());
                refuseStaged();
                resetBatch();
                continue;
            }
            if (drained == 0) {
                parked = true;
                // Re-check after announcing we park, so an offer in between is never missed.
                if (queue.isEmpty() && running) {
                    LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(100));
                }
                parked = false;
                continue;
            }
            commitAndAnswer();
        }
    }

    private void stage(Object command) {
        staged.add(command);
        try {
            if (command instanceof SendCommand send) {
                stageSend(send);
            } else if (command instanceof AckCommand ack) {
                stageAck(ack);
            } else if (command instanceof ReadCommand read) {
                stageRead(read);
            } else if (command instanceof RegisterCommand register) {
                directory.register(register.device());
                deviceCache.remove(register.device().user());
            }
        } catch (RuntimeException e) {
            // A storage read failed while staging: the whole batch is refused below.
            throw new StagingException(e);
        }
    }

    private void stageSend(SendCommand command) {
        Send send = command.send();
        DeviceId sender = command.session().device();
        String clientId = send.getClientMessageId();
        SendKey key = new SendKey(sender, clientId);
        AcceptedSend prior = sendOverlay.get(key);
        long now = clock.millis();
        if (prior == null) {
            // Outside its window (expiry runs periodically) a stored record no longer counts: new message.
            prior = store.acceptedSend(sender, clientId).filter(a -> retention.isWithinDedupWindow(a, now)).orElse(null);
        }
        if (prior != null) {
            metrics.duplicate();
            replies.add(new Reply(command.session().connection(),
                Frames.accepted(clientId, prior.serverId(), prior.acceptedAtMs())));
            return;
        }
        long serverId = ++nextServerId;
        StoredMessage message = new StoredMessage(serverId, MessageKind.MESSAGE, sender, send.getRecipient(), clientId, 0,
            now, send.getContentType(), send.getPayload().toByteArray(),
            send.hasMedia() ? send.getMedia().toByteArray() : null);
        List<DeviceId> recipients = devices(send.getRecipient());
        for (DeviceId owner : recipients) {
            batch.append(owner, message);
            offers.add(new Offer(owner, message));
        }
        // The sender's other devices get a copy, so every device shows the whole conversation.
        for (DeviceId owner : devices(sender.user())) {
            if (!owner.equals(sender) && !recipients.contains(owner)) {
                batch.append(owner, message);
                offers.add(new Offer(owner, message));
            }
        }
        AcceptedSend accepted = new AcceptedSend(serverId, now);
        batch.recordSend(sender, clientId, accepted);
        sendOverlay.put(key, accepted);
        metrics.accepted();
        replies.add(new Reply(command.session().connection(), Frames.accepted(clientId, serverId, now)));
    }

    private void stageAck(AckCommand command) {
        DeviceId owner = command.session().device();
        DeliveryAck ack = command.ack();
        for (int i = 0; i < ack.getServerMessageIdsCount(); i++) {
            long serverId = ack.getServerMessageIds(i);
            InboxEntry entry = entry(owner, serverId);
            if (entry == null) {
                unknown(command.session(), serverId);
                continue;
            }
            if (entry.state() == InboxEntry.State.DELIVERED) {
                continue; // a repeated ack changes nothing
            }
            StoredMessage message = entry.message();
            if (needsReceipts(owner, message)) {
                batch.markDelivered(owner, serverId, clock.millis());
                entryOverlay.put(new EntryKey(owner, serverId), InboxEntry.State.DELIVERED);
                routeReceipt(MessageKind.RECEIPT_DELIVERED, message, owner);
                metrics.delivered();
            } else {
                batch.remove(owner, serverId);
                entryOverlay.put(new EntryKey(owner, serverId), null);
            }
        }
    }

    private void stageRead(ReadCommand command) {
        DeviceId owner = command.session().device();
        ReadReceipt read = command.read();
        for (int i = 0; i < read.getServerMessageIdsCount(); i++) {
            long serverId = read.getServerMessageIds(i);
            InboxEntry entry = entry(owner, serverId);
            if (entry == null) {
                unknown(command.session(), serverId);
                continue;
            }
            StoredMessage message = entry.message();
            if (message.isReceipt()) {
                command.session().connection().send(Frames.messageError(Error.Code.INVALID_ARGUMENT,
                    "Server message id " + serverId + " is a receipt, not a chat message; receipts cannot be read",
                    serverId));
                metrics.error(Error.Code.INVALID_ARGUMENT);
                continue;
            }
            batch.remove(owner, serverId);
            entryOverlay.put(new EntryKey(owner, serverId), null);
            if (needsReceipts(owner, message)) {
                if (entry.state() == InboxEntry.State.PENDING) {
                    // Read implies delivered: the sender sees the double tick before the blue one.
                    routeReceipt(MessageKind.RECEIPT_DELIVERED, message, owner);
                    metrics.delivered();
                }
                routeReceipt(MessageKind.RECEIPT_READ, message, owner);
                metrics.read();
            }
        }
    }

    /** Receipts go to the sender, never for a copy of one's own message on another device. */
    private static boolean needsReceipts(DeviceId owner, StoredMessage message) {
        return !message.isReceipt() && !message.sender().user().equals(owner.user());
    }

    private void routeReceipt(MessageKind kind, StoredMessage message, DeviceId by) {
        StoredMessage receipt = StoredMessage.receipt(++nextServerId, kind, message, by, clock.millis());
        for (DeviceId owner : devices(message.sender().user())) {
            batch.append(owner, receipt);
            offers.add(new Offer(owner, receipt));
        }
    }

    private void unknown(Session session, long serverId) {
        session.connection().send(Frames.messageError(Error.Code.UNKNOWN_MESSAGE,
            "Server message id " + serverId + " is not in the inbox of " + session.device(), serverId));
        metrics.error(Error.Code.UNKNOWN_MESSAGE);
    }

    /** The entry as it will be after this batch: the overlay first, then the store. */
    private InboxEntry entry(DeviceId owner, long serverId) {
        EntryKey key = new EntryKey(owner, serverId);
        if (entryOverlay.containsKey(key)) {
            InboxEntry.State state = entryOverlay.get(key);
            if (state == null) {
                return null;
            }
            Optional<InboxEntry> stored = store.entry(owner, serverId);
            return stored.map(e -> new InboxEntry(e.message(), state)).orElse(null);
        }
        return store.entry(owner, serverId).orElse(null);
    }

    private List<DeviceId> devices(String user) {
        List<DeviceId> devices = deviceCache.get(user);
        if (devices == null) {
            if (deviceCache.size() >= DEVICE_CACHE_LIMIT) {
                deviceCache.clear();
            }
            devices = directory.devices(user);
            deviceCache.put(user, devices);
        }
        return devices;
    }

    private void commitAndAnswer() {
        try {
            if (!batch.isEmpty()) {
                store.commit(batch);
                metrics.writerBatch();
            }
        } catch (RuntimeException e) {
            LOG.error("Storage commit of {} operations failed; refusing {} commands", batch.size(), staged.size(), e);
            refuseStaged();
            resetBatch();
            return;
        }
        for (Reply reply : replies) {
            reply.connection().send(reply.frame());
        }
        for (Offer offer : offers) {
            Session session = sessions.session(offer.owner());
            if (session != null) {
                session.offer(offer.message());
            }
        }
        metrics.framesOut(replies.size());
        resetBatch();
    }

    private void refuseStaged() {
        for (Object command : staged) {
            if (command instanceof SendCommand send) {
                send.session().connection().send(Frames.sendError(Error.Code.INTERNAL,
                    "Storage failed; the message was not stored, send it again", send.send().getClientMessageId()));
                metrics.error(Error.Code.INTERNAL);
            } else if (command instanceof AckCommand ack) {
                ack.session().connection().send(Frames.error(Error.Code.INTERNAL,
                    "Storage failed; acknowledgement not recorded, send it again", 0));
                metrics.error(Error.Code.INTERNAL);
            } else if (command instanceof ReadCommand read) {
                read.session().connection().send(Frames.error(Error.Code.INTERNAL,
                    "Storage failed; read receipt not recorded, send it again", 0));
                metrics.error(Error.Code.INTERNAL);
            }
        }
    }

    private void resetBatch() {
        batch.clear();
        staged.clear();
        offers.clear();
        replies.clear();
        entryOverlay.clear();
        sendOverlay.clear();
    }

    /** Commits what is queued, then stops the thread. */
    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Wraps a storage failure while staging so the drain loop can refuse the batch. */
    private static final class StagingException extends RuntimeException {
        StagingException(RuntimeException cause) {
            super(cause);
        }
    }
}
