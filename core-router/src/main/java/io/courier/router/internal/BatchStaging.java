package io.courier.router.internal;

import io.courier.router.RouterConfig;
import io.courier.router.internal.WriterCommand.AckCommand;
import io.courier.router.internal.WriterCommand.ReadCommand;
import io.courier.router.internal.WriterCommand.RegisterCommand;
import io.courier.router.internal.WriterCommand.SendCommand;
import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceDirectory;
import io.courier.storage.DeviceId;
import io.courier.storage.EntryId;
import io.courier.storage.InboxEntry;
import io.courier.storage.MessageKind;
import io.courier.storage.MessageStore;
import io.courier.storage.RetentionPolicy;
import io.courier.storage.SendId;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import io.courier.transport.Connection;
import io.courier.transport.Frames;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.DeviceAddress;
import io.courier.transport.proto.DevicePayload;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Send;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns writer commands into one {@link WriteBatch} and, once it is committed, into what follows
 * from it: the replies (single ticks, errors) and the committed entries to offer to live
 * sessions. Everything the delivery contract decides at write time is here: server ids,
 * de-duplication, which inbox an ack or read refers to, delivered and read receipts, copies to
 * the sender's other devices.
 *
 * <p>Single-threaded: only the {@link StorageWriter} thread calls it, which is what makes
 * de-duplication and ack validation race-free. It sends nothing itself; the writer sends
 * {@link #replies()} and offers {@link #offers()} after {@link #commit()}, then {@link #reset()}s.
 * A cycle is {@link #stage} for each command, {@link #commit()} (or {@link #refuse()} when a
 * stage failed), then {@link #reset()}.
 *
 * <p>Validation reads go to the store, seen through overlays of what this batch already changed,
 * so two commands of one batch on the same entry or the same client message id behave as if the
 * first had been committed. Server ids increase in staging order, continuing after the store's
 * highest id: per-recipient order is acceptance order. Ids of a refused batch are not reused.
 * When several servers share the store ({@code router.shared-store}) each {@link #stageAll}
 * begins the store's batch on every inbox it may append to ({@link MessageStore#beginBatch}):
 * those inboxes are locked against the other servers' batches until this one commits, and the
 * ids it takes are reserved after the locks are held, so ids are unique across the servers and
 * each inbox's entries appear in id order whichever server wrote them, while batches on other
 * inboxes go on at the same time.
 *
 * <p>Acks and read receipts are truthful and cannot lose a message: they take a pending entry only
 * when the device's connection was sent it — above the connection's resume point and up to the
 * last id written to it, which the I/O thread notes on the command as the frame arrives. For any
 * other pending entry (one the device learned of elsewhere, say from the sender's Accepted, or
 * one at or below its resume point) the device gets a non-fatal UNKNOWN_MESSAGE naming the id;
 * the entry stays pending, so it is still delivered, and the sender gets no tick for it. The
 * resume point does not count as possession: it asks for less, it proves nothing, so a device
 * that resumed past an entry it never acknowledged takes that entry on a connection that is sent
 * it again. Acknowledged entries can be read on any connection: the device had them. A frame's
 * refused ids are answered with one error per kind of refusal, naming the first and counting the
 * rest, however many ids it named.
 *
 * <p>Limits decided here, on what the store holds: a send that would take a recipient device's
 * inbox above its quota is refused with INBOX_FULL ({@link InboxQuota}; receipts and copies on the
 * sender's own devices are never refused, so they may take an inbox past it), and the hello of a
 * device beyond {@code router.max-devices-per-user} with a fatal TOO_MANY_DEVICES.
 */
public final class BatchStaging {

    private static final Logger LOG = LoggerFactory.getLogger(BatchStaging.class);
    private static final int DEVICE_CACHE_LIMIT = 100_000;

    /** A frame for a connection, sent once the batch is committed (or refused). */
    public record Reply(Connection connection, Frame frame) {
    }

    /**
     * A committed entry for the live session of {@code owner}, if it has one. {@code after} is the
     * highest id the inbox held before the entry: {@link #UNORDERED} on a store one server owns,
     * where the writer's order is the inbox's, and {@code Long.MAX_VALUE} on a shared store when
     * the store did not say; the session delivers the entry as it is only once it was sent {@code after}.
     */
    public record Offer(DeviceId owner, StoredMessage message, long after) {
        /** {@code after} of an entry that follows whatever was offered before it. */
        public static final long UNORDERED = Long.MIN_VALUE;
    }


    /** A storage read failed while staging; the caller refuses the batch with {@link #refuse()}. */
    public static final class StagingFailedException extends RuntimeException {
        StagingFailedException(RuntimeException cause) {
            super("Storage read failed while staging a batch", cause);
        }
    }

    /** How many refused ids an error text lists before it only counts the rest. */
    static final int LISTED_IDS = 5;

    private final MessageStore store;
    private final DeviceDirectory directory;
    private final BundleDevices bundleDevices;
    private final RouterMetrics metrics;
    private final Clock clock;
    private final RetentionPolicy retention;
    private final int maxDevicesPerUser;
    private final InboxQuota quota;

    private final WriteBatch batch = new WriteBatch();
    private final List<WriterCommand> staged = new ArrayList<>();
    private final List<Offer> offers = new ArrayList<>();
    private final List<Reply> replies = new ArrayList<>();
    // The ids of the frame being staged that were refused, by reason; reused frame after frame.
    private final RefusedIds notInInbox = new RefusedIds();
    private final RefusedIds notSent = new RefusedIds();
    private final RefusedIds receiptsRead = new RefusedIds();
    private final Map<EntryId, InboxEntry.State> entryOverlay = new HashMap<>();
    private final Map<SendId, AcceptedSend> sendOverlay = new HashMap<>();
    // De-duplication records read for this batch's sends in one go (stageAll), and which were asked.
    private final Set<SendId> sendsRead = new HashSet<>();
    private Map<SendId, AcceptedSend> sendsFound = Map.of();
    // The same for the inbox entries that acks and read receipts name (as stored, before the overlay).
    private final Set<EntryId> entriesRead = new HashSet<>();
    private Map<EntryId, InboxEntry> entriesFound = Map.of();
    private final Map<String, List<DeviceId>> deviceCache = new HashMap<>();
    private long nextServerId;
    private static final long[] NONE_RESERVED = {};
    // Whether other servers commit into the store too (router.shared-store), and whether this
    // thread holds its inboxes' locks (MessageStore.beginBatch) for the batch being staged.
    private final boolean sharedStore;
    private boolean batchOpen;
    // The highest id this batch may take: on a shared store, the last it reserved.
    // On a shared store, the ids the batch reserved (ascending) and how many it took.
    private long[] reserved;
    private int reservedTaken;
    // On a shared store, the highest id in each inbox the batch locked, then its own last append there.
    private final Map<DeviceId, Long> inboxHighest = new HashMap<>();
    // Ticks of the batch being staged, counted once it is committed.
    private int acceptedCount;
    private int duplicateCount;
    private int deliveredCount;
    private int readCount;
    private int encryptedCount;

    /** Continues numbering after {@code store}'s highest server id (a storage read); the default limits. */
    public BatchStaging(MessageStore store, DeviceDirectory directory, RouterMetrics metrics, Clock clock,
                        RetentionPolicy retention) {
        this(store, directory, metrics, clock, retention, RouterConfig.defaults());
    }

    /**
     * Continues numbering after {@code store}'s highest server id (a storage read).
     *
     * @param config where retention, the inbox quota and the device limit come from.
     */
    public BatchStaging(MessageStore store, DeviceDirectory directory, RouterMetrics metrics, Clock clock,
                        RouterConfig config) {
        this(store, directory, null, metrics, clock, config.retention(), config);
    }

    /**
     * Continues numbering after {@code store}'s highest server id (a storage read).
     *
     * @param bundleDevices which devices have key bundles, for sends with per-device payloads.
     * @param config        where retention, the inbox quota and the device limit come from.
     */
    public BatchStaging(MessageStore store, DeviceDirectory directory, BundleDevices bundleDevices,
                        RouterMetrics metrics, Clock clock, RouterConfig config) {
        this(store, directory, bundleDevices, metrics, clock, config.retention(), config);
    }

    private BatchStaging(MessageStore store, DeviceDirectory directory, RouterMetrics metrics, Clock clock,
                         RetentionPolicy retention, RouterConfig limits) {
        this(store, directory, null, metrics, clock, retention, limits);
    }

    private BatchStaging(MessageStore store, DeviceDirectory directory, BundleDevices bundleDevices,
                         RouterMetrics metrics, Clock clock, RetentionPolicy retention, RouterConfig limits) {
        this.store = store;
        this.directory = directory;
        this.bundleDevices = bundleDevices;
        this.metrics = metrics;
        this.clock = clock;
        this.retention = retention;
        this.maxDevicesPerUser = limits.maxDevicesPerUser();
        this.quota = new InboxQuota(store, limits.inboxMaxMessages(), limits.inboxMaxBytes());
        this.nextServerId = store.highestServerId();
        this.sharedStore = limits.sharedStore();
        this.reserved = sharedStore ? NONE_RESERVED : null;
        if (sharedStore && !store.isShared()) {
            throw new IllegalArgumentException("router.shared-store needs a storage backend that several servers can "
                + "share (PostgreSQL); this one belongs to one process");
        }
    }

    /**
     * Adds {@code command} to the batch.
     *
     * @throws StagingFailedException when a storage read failed: call {@link #refuse()}.
     */
    public void stage(WriterCommand command) {
        staged.add(command);
        if (command.session() != null && command.session().helloRefused()) {
            // Sent after a hello the writer refused: its connection is being closed; take nothing.
            return;
        }
        try {
            command.stageInto(this);
        } catch (RuntimeException e) {
            throw new StagingFailedException(e);
        }
    }

    /**
     * Adds {@code commands} to the batch, in order, reading first the de-duplication records of
     * all their sends in one storage read ({@link MessageStore#acceptedSends}) and every inbox
     * entry their acknowledgements and read receipts name in another ({@link MessageStore#entries}),
     * instead of one read per send and per id: the same outcome as {@link #stage} for each, two
     * round trips per batch where the store is a network away.
     *
     * @throws StagingFailedException when a storage read failed: call {@link #refuse()}, which
     *     answers every one of {@code commands}.
     */
    public void stageAll(List<WriterCommand> commands) {
        List<SendId> sends = new ArrayList<>();
        List<EntryId> entries = new ArrayList<>();
        for (WriterCommand command : commands) {
            if (command instanceof SendCommand send) {
                sends.add(new SendId(send.sender(), send.send().getClientMessageId()));
            } else if (command instanceof AckCommand ack) {
                for (int i = 0; i < ack.ack().getServerMessageIdsCount(); i++) {
                    entries.add(new EntryId(ack.owner(), ack.ack().getServerMessageIds(i)));
                }
            } else if (command instanceof ReadCommand read) {
                for (int i = 0; i < read.read().getServerMessageIdsCount(); i++) {
                    entries.add(new EntryId(read.owner(), read.read().getServerMessageIds(i)));
                }
            }
        }
        try {
            if (sharedStore) {
                beginShared(commands, sends, entries);
            } else {
                // One id alone costs the same read either way.
                if (sends.size() > 1) {
                    sendsFound = store.acceptedSends(sends);
                    sendsRead.addAll(sends);
                }
                if (entries.size() > 1) {
                    entriesFound = store.entries(entries);
                    entriesRead.addAll(entries);
                }
            }
        } catch (RuntimeException e) {
            staged.addAll(commands);
            throw new StagingFailedException(e);
        }
        for (int i = 0; i < commands.size(); i++) {
            try {
                stage(commands.get(i));
            } catch (StagingFailedException e) {
                // The rest were taken from their queues too: they are refused with the batch.
                staged.addAll(commands.subList(i + 1, commands.size()));
                throw e;
            }
        }
    }

    /**
     * On a store other servers write too: reads what the batch validates, works out every inbox it
     * may append to and how many ids it may take, then begins the store's batch on them
     * ({@link MessageStore#beginBatch}), which locks those inboxes against the other servers'
     * batches and reserves the ids; the de-duplication records are read under those locks, so a
     * send repeated on two servers at once is stored once.
     */
    private void beginShared(List<WriterCommand> commands, List<SendId> sends, List<EntryId> entries) {
        if (!entries.isEmpty()) {
            entriesFound = store.entries(entries);
            entriesRead.addAll(entries);
        }
        // Another server may have registered a device since: this batch reads the lists again.
        Set<String> users = new HashSet<>();
        for (WriterCommand command : commands) {
            if (command instanceof SendCommand send) {
                users.add(send.send().getRecipient());
                users.add(send.sender().user());
            } else if (command instanceof RegisterCommand register) {
                users.add(register.device().user());
            }
        }
        for (InboxEntry entry : entriesFound.values()) {
            users.add(entry.message().sender().user()); // receipts go to the sender's devices
        }
        deviceCache.clear();
        if (!users.isEmpty()) {
            deviceCache.putAll(directory.devices(users));
        }
        Set<DeviceId> inboxes = new HashSet<>();
        int ids = 0;
        for (WriterCommand command : commands) {
            if (command instanceof SendCommand send) {
                ids++;
                inboxes.addAll(devices(send.send().getRecipient()));
                for (DeviceId own : devices(send.sender().user())) {
                    // The sending device gets no copy of its own send, unless it sends a plain
                    // message to its own user: leaving its inbox unlocked lets the batches of
                    // two users talking on two servers run side by side.
                    if (!own.equals(send.sender())) {
                        inboxes.add(own);
                    }
                }
                for (DevicePayload copy : send.send().getDevicePayloadsList()) {
                    DeviceAddress address = copy.getDevice();
                    if (DeviceId.isValidId(address.getUser()) && DeviceId.isValidId(address.getDevice())) {
                        inboxes.add(new DeviceId(address.getUser(), address.getDevice()));
                    }
                }
            } else if (command instanceof RegisterCommand register) {
                inboxes.add(register.device());
            }
        }
        for (EntryId id : entries) {
            InboxEntry entry = entriesFound.get(id);
            if (entry != null) {
                ids += 2; // a read of an entry not yet delivered routes both receipts
                inboxes.addAll(devices(entry.message().sender().user()));
            }
        }
        reserved = store.beginBatch(inboxes, ids);
        reservedTaken = 0;
        batchOpen = true;
        inboxHighest.putAll(store.lockedHighestIds());
        if (!sends.isEmpty()) {
            sendsFound = store.acceptedSends(sends);
            sendsRead.addAll(sends);
        }
    }

    /** The id {@link #nextId()} gives next; on a shared store, the next of those the batch reserved. */
    private long peekId() {
        if (reserved == null) {
            return nextServerId + 1;
        }
        if (reservedTaken >= reserved.length) {
            throw new IllegalStateException("The batch needs more server ids than the " + reserved.length
                + " it reserved");
        }
        return reserved[reservedTaken];
    }

    /** The next server id; on a shared store, one of those the batch reserved. */
    private long nextId() {
        long id = peekId();
        if (reserved != null) {
            reservedTaken++;
        }
        nextServerId = id;
        return id;
    }

    /** Commands staged since the last {@link #reset()}. */
    public int stagedCount() {
        return staged.size();
    }

    /** The commands staged since the last {@link #reset()}, in order. */
    public List<WriterCommand> staged() {
        return Collections.unmodifiableList(staged);
    }

    /**
     * Commits the batch. On success {@link #replies()} and {@link #offers()} are what follows from
     * it; when the store refused it, nothing of it was applied and {@link #replies()} hold each
     * command's refusal instead.
     *
     * @return true when committed.
     */
    public boolean commit() {
        try {
            boolean open = batchOpen;
            batchOpen = false;
            if (!batch.isEmpty()) {
                store.commit(batch);
                metrics.writerBatch();
            } else if (open) {
                store.abortBatch();
            }
        } catch (RuntimeException e) {
            LOG.error("Storage commit of {} operations failed; refusing {} commands", batch.size(), staged.size(), e);
            refuse();
            return false;
        }
        quota.committed();
        metrics.accepted(acceptedCount);
        metrics.duplicates(duplicateCount);
        metrics.delivered(deliveredCount);
        metrics.read(readCount);
        metrics.encryptedSends(encryptedCount);
        return true;
    }

    /** Drops what was staged and answers every staged command with its refusal. */
    public void refuse() {
        if (batchOpen) {
            batchOpen = false;
            store.abortBatch();
        }
        clearStaging();
        for (WriterCommand command : staged) {
            command.refuseInto(this);
        }
    }

    /** What to send, in order, after {@link #commit()} or {@link #refuse()}. */
    public List<Reply> replies() {
        return Collections.unmodifiableList(replies);
    }

    /** Committed entries to offer to live sessions, in commit order; empty after a refusal. */
    public List<Offer> offers() {
        return Collections.unmodifiableList(offers);
    }


    /** Forgets the cycle (the device cache stays), ready for the next batch. */
    public void reset() {
        clearStaging();
        staged.clear();
    }

    private void clearStaging() {
        batch.clear();
        quota.discarded();
        offers.clear();
        replies.clear();
        entryOverlay.clear();
        sendOverlay.clear();
        sendsRead.clear();
        sendsFound = Map.of();
        if (sharedStore) {
            reserved = sharedStore ? NONE_RESERVED : null;
            inboxHighest.clear();
        }
        entriesRead.clear();
        entriesFound = Map.of();
        acceptedCount = 0;
        duplicateCount = 0;
        deliveredCount = 0;
        readCount = 0;
        encryptedCount = 0;
    }

    // ---------------------------------------------------------------- commands (called back by each WriterCommand)

    void reply(Connection connection, Frame frame) {
        replies.add(new Reply(connection, frame));
    }

    void stageSend(SendCommand command) {
        Send send = command.send();
        DeviceId sender = command.sender();
        String clientId = send.getClientMessageId();
        SendId key = new SendId(sender, clientId);
        AcceptedSend prior = sendOverlay.get(key);
        if (prior == null) {
            // Outside its window (expiry runs periodically) a stored record no longer counts: new message.
            AcceptedSend stored = sendsRead.contains(key) ? sendsFound.get(key)
                : store.acceptedSend(sender, clientId).orElse(null);
            if (stored != null && retention.isWithinDedupWindow(stored, clock.millis())) {
                prior = stored;
            }
        }
        if (prior != null) {
            duplicateCount++;
            reply(command.connection(), MessageFrames.accepted(clientId, prior.serverId(), prior.acceptedAtMs()));
            return;
        }
        if (send.getDevicePayloadsCount() > 0) {
            stageEncryptedSend(command, key);
            return;
        }
        long now = clock.millis();
        StoredMessage message = new StoredMessage(peekId(), MessageKind.MESSAGE, sender, send.getRecipient(),
            clientId, 0, now, send.getContentType(), send.getPayload().toByteArray(),
            send.hasMedia() ? send.getMedia().toByteArray() : null);
        List<DeviceId> recipients = devices(send.getRecipient());
        for (DeviceId owner : recipients) {
            String full = quota.refusal(owner, message);
            if (full != null) {
                // Refused before it has an id: nothing of it is stored, and ids stay in order.
                reply(command.connection(), Frames.sendError(Error.Code.INBOX_FULL, "Not stored: " + full
                    + "; send it again once " + send.getRecipient() + " has caught up", clientId));
                return;
            }
        }
        long serverId = nextId();
        for (DeviceId owner : recipients) {
            append(owner, message);
        }
        // The sender's other devices get a copy, so every device shows the whole conversation.
        for (DeviceId owner : devices(sender.user())) {
            if (!owner.equals(sender) && !recipients.contains(owner)) {
                append(owner, message);
            }
        }
        AcceptedSend accepted = new AcceptedSend(serverId, now);
        batch.recordSend(sender, clientId, accepted);
        sendOverlay.put(key, accepted);
        acceptedCount++;
        reply(command.connection(), MessageFrames.accepted(clientId, serverId, now));
    }

    /**
     * A send with one payload per device: refused with STALE_DEVICES unless it names exactly the
     * devices with key bundles of the recipient and of the sender, the sending device excepted
     * (each once), and every payload that names an identity key names the device's published one;
     * otherwise each of those devices gets its own copy, with its own payload. The device sets and
     * keys come from {@link BundleDevices}, not from a storage read per send.
     */
    private void stageEncryptedSend(SendCommand command, SendId key) {
        Send send = command.send();
        DeviceId sender = command.sender();
        String clientId = send.getClientMessageId();
        // The devices that must get a copy, in the order their copies are appended: the
        // recipient's, then the sender's other ones (the same when one sends to oneself).
        Map<DeviceId, Boolean> expected = new LinkedHashMap<>();
        Map<String, byte[]> recipientKeys = bundleDevicesOf(send.getRecipient());
        Map<String, byte[]> senderKeys = sender.user().equals(send.getRecipient()) ? recipientKeys
            : bundleDevicesOf(sender.user());
        for (String device : recipientKeys.keySet()) {
            expected.put(new DeviceId(send.getRecipient(), device), Boolean.TRUE);
        }
        for (String device : senderKeys.keySet()) {
            expected.putIfAbsent(new DeviceId(sender.user(), device), Boolean.FALSE);
        }
        expected.remove(sender);
        Map<DeviceId, byte[]> payloads = new HashMap<>();
        List<DeviceAddress> extra = new ArrayList<>();
        List<DeviceAddress> changed = new ArrayList<>();
        for (DevicePayload copy : send.getDevicePayloadsList()) {
            DeviceId device = new DeviceId(copy.getDevice().getUser(), copy.getDevice().getDevice());
            if (!expected.containsKey(device) || payloads.containsKey(device)) {
                extra.add(copy.getDevice());
                continue;
            }
            payloads.put(device, copy.getPayload().toByteArray());
            if (!copy.getIdentityKey().isEmpty()) {
                byte[] published = (device.user().equals(send.getRecipient()) ? recipientKeys : senderKeys)
                    .get(device.device());
                if (!java.util.Arrays.equals(published, copy.getIdentityKey().toByteArray())) {
                    changed.add(copy.getDevice());
                }
            }
        }
        List<DeviceAddress> missing = new ArrayList<>();
        for (DeviceId device : expected.keySet()) {
            if (!payloads.containsKey(device)) {
                missing.add(DeviceAddress.newBuilder().setUser(device.user()).setDevice(device.device()).build());
            }
        }
        if (!missing.isEmpty() || !extra.isEmpty() || !changed.isEmpty()) {
            reply(command.connection(), Frame.newBuilder().setError(io.courier.transport.proto.Error.newBuilder()
                .setCode(Error.Code.STALE_DEVICES)
                .setText("Not stored: the device payloads do not match the devices with key bundles of "
                    + send.getRecipient() + (sender.user().equals(send.getRecipient()) ? "" : " and " + sender.user())
                    + " (" + missing.size() + " missing, " + extra.size() + " extra, " + changed.size()
                    + " with a new identity key); fetch the keys of the missing and changed devices, drop the extra"
                    + " ones and send it again with the same client_message_id")
                .setClientMessageId(clientId)
                .addAllMissingDevices(missing)
                .addAllExtraDevices(extra)
                .addAllChangedDevices(changed)).build());
            return;
        }
        long now = clock.millis();
        List<DeviceId> owners = new ArrayList<>(expected.size());
        List<StoredMessage> copies = new ArrayList<>(expected.size());
        for (Map.Entry<DeviceId, Boolean> target : expected.entrySet()) {
            StoredMessage copy = new StoredMessage(peekId(), MessageKind.MESSAGE, sender, send.getRecipient(),
                clientId, 0, now, send.getContentType(), payloads.get(target.getKey()),
                send.hasMedia() ? send.getMedia().toByteArray() : null);
            // As for plain sends, only the recipient's inboxes may refuse the message.
            String full = target.getValue() ? quota.refusal(target.getKey(), copy) : null;
            if (full != null) {
                reply(command.connection(), Frames.sendError(Error.Code.INBOX_FULL, "Not stored: " + full
                    + "; send it again once " + send.getRecipient() + " has caught up", clientId));
                return;
            }
            owners.add(target.getKey());
            copies.add(copy);
        }
        long serverId = nextId();
        for (int i = 0; i < owners.size(); i++) {
            append(owners.get(i), copies.get(i));
        }
        AcceptedSend accepted = new AcceptedSend(serverId, now);
        batch.recordSend(sender, clientId, accepted);
        sendOverlay.put(key, accepted);
        acceptedCount++;
        encryptedCount++;
        reply(command.connection(), MessageFrames.accepted(clientId, serverId, now));
    }

    private Map<String, byte[]> bundleDevicesOf(String user) {
        return bundleDevices == null ? Map.of() : bundleDevices.of(user);
    }

    void stageAck(AckCommand command) {
        DeviceId owner = command.owner();
        DeliveryAck ack = command.ack();
        clearRefused();
        for (int i = 0; i < ack.getServerMessageIdsCount(); i++) {
            long serverId = ack.getServerMessageIds(i);
            InboxEntry entry = entry(owner, serverId);
            if (entry == null) {
                notInInbox.add(serverId, i);
                continue;
            }
            if (entry.state() == InboxEntry.State.DELIVERED) {
                continue; // a repeated ack changes nothing
            }
            if (!command.wasSent(serverId)) {
                notSent.add(serverId, i);
                continue;
            }
            StoredMessage message = entry.message();
            quota.taken(owner, message);
            if (needsReceipts(owner, message)) {
                batch.markDelivered(owner, serverId, clock.millis());
                entryOverlay.put(new EntryId(owner, serverId), InboxEntry.State.DELIVERED);
                routeReceipt(MessageKind.RECEIPT_DELIVERED, message, owner);
                deliveredCount++;
            } else {
                batch.remove(owner, serverId);
                entryOverlay.put(new EntryId(owner, serverId), null);
            }
        }
        answerRefused(command.connection(), owner);
    }

    void stageRead(ReadCommand command) {
        DeviceId owner = command.owner();
        ReadReceipt read = command.read();
        clearRefused();
        for (int i = 0; i < read.getServerMessageIdsCount(); i++) {
            long serverId = read.getServerMessageIds(i);
            InboxEntry entry = entry(owner, serverId);
            if (entry == null) {
                notInInbox.add(serverId, i);
                continue;
            }
            StoredMessage message = entry.message();
            if (message.isReceipt()) {
                receiptsRead.add(serverId, i);
                continue;
            }
            if (entry.state() == InboxEntry.State.PENDING && !command.wasSent(serverId)) {
                // Removing it would lose it: the device never had it, and the sender would see a
                // blue tick for a message that is nowhere.
                notSent.add(serverId, i);
                continue;
            }
            if (entry.state() == InboxEntry.State.PENDING) {
                quota.taken(owner, message);
            }
            batch.remove(owner, serverId);
            entryOverlay.put(new EntryId(owner, serverId), null);
            if (needsReceipts(owner, message)) {
                if (entry.state() == InboxEntry.State.PENDING) {
                    // Read implies delivered: the sender sees the double tick before the blue one.
                    routeReceipt(MessageKind.RECEIPT_DELIVERED, message, owner);
                    deliveredCount++;
                }
                routeReceipt(MessageKind.RECEIPT_READ, message, owner);
                readCount++;
            }
        }
        answerRefused(command.connection(), owner);
    }

    void stageRegister(RegisterCommand command) {
        DeviceId device = command.device();
        List<DeviceId> known = devices(device.user());
        if (!known.contains(device)) {
            if (known.size() >= maxDevicesPerUser) {
                LOG.info("Refused a new device {}: user {} has {} devices (router.max-devices-per-user = {})", device,
                    device.user(), known.size(), maxDevicesPerUser);
                Session session = command.session();
                if (session != null) {
                    session.refuseHello();
                    reply(session.connection(), Frame.newBuilder().setError(Frames.errorBody(
                        Error.Code.TOO_MANY_DEVICES, "User " + device.user() + " has " + known.size()
                            + " devices, the most router.max-devices-per-user allows; device " + Frames.quote(device.device())
                            + " was not added: connect as one of them", true)).build());
                }
                return;
            }
            directory.register(device);
            deviceCache.remove(device.user());
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Receipts go to the sender, never for a copy of one's own message on another device. */
    private static boolean needsReceipts(DeviceId owner, StoredMessage message) {
        return !message.isReceipt() && !message.sender().user().equals(owner.user());
    }

    private void append(DeviceId owner, StoredMessage message) {
        batch.append(owner, message);
        quota.added(owner, message);
        long after = Offer.UNORDERED;
        if (sharedStore) {
            // The entry follows the inbox's highest id under the batch's lock, or this batch's
            // previous entry in it; unknown when the store did not say.
            Long previous = inboxHighest.put(owner, message.serverId());
            after = previous == null || previous >= message.serverId() ? Long.MAX_VALUE : previous;
        }
        offers.add(new Offer(owner, message, after));
    }

    private void routeReceipt(MessageKind kind, StoredMessage message, DeviceId by) {
        StoredMessage receipt = StoredMessage.receipt(nextId(), kind, message, by, clock.millis());
        for (DeviceId owner : devices(message.sender().user())) {
            append(owner, receipt);
        }
    }

    private void clearRefused() {
        notInInbox.clear();
        notSent.clear();
        receiptsRead.clear();
    }

    /**
     * Answers the refused ids of one ack or read receipt: at most one UNKNOWN_MESSAGE (ids not in
     * the inbox, and pending ids not sent yet) and one INVALID_ARGUMENT (receipts read), each
     * naming the first refused id in {@code server_message_id}, listing the first few in its
     * text and counting all.
     */
    private void answerRefused(Connection connection, DeviceId owner) {
        if (notInInbox.count() + notSent.count() > 0) {
            StringBuilder text = new StringBuilder();
            if (notInInbox.count() > 0) {
                text.append(notInInbox.describe("is", "are")).append(" not in the inbox of ").append(owner);
            }
            if (notSent.count() > 0) {
                text.append(text.length() > 0 ? "; " : "").append(notSent.describe("has", "have"))
                    .append(" not been sent to ").append(owner).append(" on this connection; ")
                    .append(notSent.count() == 1 ? "it stays" : "they stay")
                    .append(" in the inbox, acknowledge or read ").append(notSent.count() == 1 ? "it" : "them")
                    .append(" once ").append(notSent.count() == 1 ? "it arrives" : "they arrive");
            }
            long first = notSent.count() == 0
                || notInInbox.count() > 0 && notInInbox.firstIndex() < notSent.firstIndex()
                ? notInInbox.first() : notSent.first();
            reply(connection, Frames.messageError(Error.Code.UNKNOWN_MESSAGE, text.toString(), first));
        }
        if (receiptsRead.count() > 0) {
            reply(connection, Frames.messageError(Error.Code.INVALID_ARGUMENT, receiptsRead.describe("is", "are")
                + (receiptsRead.count() == 1 ? " a receipt" : " receipts") + ", not chat messages; receipts cannot be"
                + " read, acknowledge them instead", receiptsRead.first()));
        }
    }

    /** The entry as it will be after this batch: the overlay first, then the store. */
    private InboxEntry entry(DeviceId owner, long serverId) {
        EntryId key = new EntryId(owner, serverId);
        if (entryOverlay.containsKey(key)) {
            InboxEntry.State state = entryOverlay.get(key);
            if (state == null) {
                return null;
            }
            InboxEntry stored = stored(key);
            return stored == null ? null : new InboxEntry(stored.message(), state);
        }
        return stored(key);
    }

    /** The entry as the store holds it: read with the batch's others when {@link #stageAll} could. */
    private InboxEntry stored(EntryId key) {
        return entriesRead.contains(key) ? entriesFound.get(key) : store.entry(key.owner(), key.serverId()).orElse(null);
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
}
