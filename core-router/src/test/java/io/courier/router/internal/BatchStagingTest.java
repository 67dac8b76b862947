package io.courier.router.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.courier.router.internal.BatchStaging.Offer;
import io.courier.router.internal.BatchStaging.Reply;
import io.courier.router.internal.WriterCommand.AckCommand;
import io.courier.router.internal.WriterCommand.ReadCommand;
import io.courier.router.internal.WriterCommand.RegisterCommand;
import io.courier.router.internal.WriterCommand.SendCommand;
import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.MessageKind;
import io.courier.storage.MessageStore;
import io.courier.storage.StorageBackend;
import io.courier.storage.StorageConfig;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import io.courier.storage.memory.InMemoryStorageProvider;
import io.courier.transport.proto.Accepted;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.Frame;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Send;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Batch staging on its own, against the in-memory backend: what one batch stores, and what it
 * answers once committed. No threads, no sockets: the test is the writer thread.
 */
class BatchStagingTest {

    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
    private static final DeviceId ALICE = DeviceId.primary("alice");
    private static final DeviceId BOB = DeviceId.primary("bob");

    private final StorageBackend storage = new InMemoryStorageProvider().open(new StorageConfig(Path.of("unused"), Map.of()));
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final PeerConnection alice = new PeerConnection("alice");
    private final PeerConnection bob = new PeerConnection("bob");
    private BatchStaging staging = newStaging();

    @AfterEach
    void close() {
        storage.close();
    }

    private BatchStaging newStaging() {
        return new BatchStaging(storage.messages(), storage.devices(), new RouterMetrics(registry),
            Clock.fixed(NOW, ZoneOffset.UTC), io.courier.router.RouterConfig.defaults().retention());
    }

    @Test
    void shouldStoreASendAndAnswerItWithAcceptedOnceCommitted() {
        staging.stage(send(ALICE, alice, "bob", "m-1"));
        assertThat(storage.messages().pendingCount(BOB)).as("nothing is stored before the commit").isZero();

        assertThat(staging.commit()).isTrue();

        List<StoredMessage> inbox = storage.messages().pending(BOB, 0, 10);
        assertThat(inbox).singleElement().satisfies(m -> {
            assertThat(m.clientMessageId()).isEqualTo("m-1");
            assertThat(m.sender()).isEqualTo(ALICE);
            assertThat(m.timestampMs()).isEqualTo(NOW.toEpochMilli());
        });
        assertThat(accepted(alice)).singleElement().satisfies(a -> {
            assertThat(a.getClientMessageId()).isEqualTo("m-1");
            assertThat(a.getServerMessageId()).isEqualTo(inbox.get(0).serverId());
        });
        assertThat(staging.offers()).extracting(Offer::owner).containsExactly(BOB);
        assertThat(registry.get("courier.messages.accepted").counter().count()).isEqualTo(1);
    }

    @Test
    void shouldNumberAfterTheStoresHighestIdInStagingOrder() {
        storage.messages().commit(new WriteBatch().advanceServerId(41));
        staging = newStaging();
        staging.stage(send(ALICE, alice, "bob", "m-1"));
        staging.stage(send(ALICE, alice, "carol", "m-2"));
        staging.commit();
        assertThat(accepted(alice)).extracting(Accepted::getServerMessageId).containsExactly(42L, 43L);
    }

    @Test
    void shouldAnswerARepeatedSendWithTheSameAcceptedAndStoreItOnceInOneBatchOrTwo() {
        staging.stage(send(ALICE, alice, "bob", "dup"));
        staging.stage(send(ALICE, alice, "bob", "dup"));
        staging.commit();
        assertThat(accepted(alice)).hasSize(2);
        Accepted first = accepted(alice).get(0);
        assertThat(accepted(alice)).containsOnly(first);
        staging.reset();

        staging.stage(send(ALICE, alice, "bob", "dup"));
        staging.commit();
        assertThat(accepted(alice)).containsExactly(first);
        assertThat(staging.offers()).as("nothing to deliver again").isEmpty();

        assertThat(storage.messages().pendingCount(BOB)).isEqualTo(1);
        assertThat(storage.messages().acceptedSend(ALICE, "dup"))
            .contains(new AcceptedSend(first.getServerMessageId(), NOW.toEpochMilli()));
        assertThat(registry.get("courier.messages.accepted").counter().count()).isEqualTo(1);
        assertThat(registry.get("courier.messages.duplicate").counter().count()).isEqualTo(2);
    }

    @Test
    void shouldReadWhatABatchValidatesInOneStorageReadPerKind() {
        long first = committedSend("old");
        List<String> reads = new ArrayList<>();
        MessageStore counted = (MessageStore) Proxy.newProxyInstance(MessageStore.class.getClassLoader(),
            new Class<?>[] {MessageStore.class}, (proxy, method, args) -> {
                if (method.getName().startsWith("acceptedSend") || method.getName().startsWith("entr")) {
                    reads.add(method.getName());
                }
                try {
                    return method.invoke(storage.messages(), args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
        staging = new BatchStaging(counted, storage.devices(), new RouterMetrics(registry),
            Clock.fixed(NOW, ZoneOffset.UTC), io.courier.router.RouterConfig.defaults().retention());

        staging.stageAll(List.of(send(ALICE, alice, "bob", "old"), send(ALICE, alice, "bob", "new"),
            send(ALICE, alice, "bob", "new"), send(BOB, bob, "alice", "old")));
        staging.commit();

        assertThat(reads).containsExactly("acceptedSends");
        assertThat(accepted(alice)).extracting(Accepted::getServerMessageId)
            .as("the stored send answered as before, the new one stored once").containsExactly(first, first + 1, first + 1);
        assertThat(accepted(bob)).extracting(Accepted::getServerMessageId)
            .as("another sender's same client id is its own message").containsExactly(first + 2);
        assertThat(storage.messages().pendingCount(BOB)).isEqualTo(2);
        staging.reset();
        reads.clear();

        // bob acknowledges both and reads the first in one batch, and names one he never had.
        staging.stageAll(List.of(ackOfSent(BOB, bob, first, first + 1), readOfSent(BOB, bob, first),
            ackOfSent(BOB, bob, first + 2)));
        staging.commit();

        assertThat(reads).containsExactly("entries");
        assertThat(errors(bob)).extracting(Error::getCode).containsExactly(Error.Code.UNKNOWN_MESSAGE);
        assertThat(staging.offers()).extracting(o -> o.message().kind()).containsExactly(MessageKind.RECEIPT_DELIVERED,
            MessageKind.RECEIPT_DELIVERED, MessageKind.RECEIPT_READ);
        assertThat(storage.messages().pendingCount(BOB)).isZero();
        assertThat(storage.messages().entry(BOB, first)).as("read: removed").isEmpty();
        assertThat(storage.messages().entry(BOB, first + 1)).get().extracting(InboxEntry::state)
            .isEqualTo(InboxEntry.State.DELIVERED);
    }

    @Test
    void shouldNumberAfterWhatOtherServersCommittedAndEndEveryBatchItBeganOnASharedStore() {
        long first = committedSend("m-0");
        List<String> calls = new ArrayList<>();
        java.util.Set<Object> locked = new java.util.HashSet<>();
        long[] othersHighest = {first + 100};
        boolean[] sendsFail = {false};
        MessageStore shared = (MessageStore) Proxy.newProxyInstance(MessageStore.class.getClassLoader(),
            new Class<?>[] {MessageStore.class}, (proxy, method, args) -> {
                switch (method.getName()) {
                    case "isShared":
                        return true;
                    case "beginBatch":
                        calls.add("begin " + new java.util.TreeSet<>((java.util.Collection<?>) args[0]) + " " + args[1]);
                        locked.clear();
                        locked.addAll((java.util.Collection<?>) args[0]);
                        // Every other id, as when another server reserves at the same time.
                        return LongStream.range(0, (Integer) args[1]).map(i -> othersHighest[0] + 1 + 2 * i).toArray();
                    case "abortBatch":
                        calls.add("abort");
                        return null;
                    case "commit":
                        calls.add("commit");
                        ((WriteBatch) args[0]).forEach(new AppendsOnly(owner -> {
                            if (!locked.contains(owner)) {
                                calls.add("appended to " + owner + ", which the batch did not lock");
                            }
                        }));
                        break;
                    case "acceptedSends":
                        if (sendsFail[0]) {
                            throw new io.courier.storage.StorageException("the store went away");
                        }
                        break;
                    default:
                        break;
                }
                try {
                    return method.invoke(storage.messages(), args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
        staging = new BatchStaging(shared, storage.devices(), new RouterMetrics(registry),
            Clock.fixed(NOW, ZoneOffset.UTC), io.courier.router.RouterConfig.builder().sharedStore(true).build());

        storage.devices().register(new DeviceId("alice", "2"));
        staging.stageAll(List.of(send(ALICE, alice, "bob", "m-1")));
        staging.commit();
        long id = first + 101;
        assertThat(accepted(alice)).extracting(Accepted::getServerMessageId)
            .as("numbered from the ids the store reserved").containsExactly(id);
        staging.reset();

        othersHighest[0] = id + 10;
        staging.stageAll(List.of(ackOfSent(BOB, bob, id, first + 5000)));
        staging.commit();
        assertThat(errors(bob)).extracting(Error::getCode).containsExactly(Error.Code.UNKNOWN_MESSAGE);
        assertThat(staging.offers()).hasSize(2).allSatisfy(o -> assertThat(o.message().serverId())
            .as("the receipt's id is one reserved, for both of alice's devices").isEqualTo(id + 11));
        staging.reset();

        staging.stageAll(List.of(ackOfSent(BOB, bob, first + 5000)));
        staging.commit();
        staging.reset();

        othersHighest[0] = id + 20; // to oneself: the sending device has a copy too
        staging.stageAll(List.of(send(ALICE, alice, "alice", "note"), send(ALICE, alice, "alice", "note-2")));
        staging.commit();
        List<Accepted> notes = accepted(alice);
        assertThat(notes.subList(notes.size() - 2, notes.size())).extracting(Accepted::getServerMessageId)
            .as("the reserved ids, in order, though not consecutive").containsExactly(id + 21, id + 23);
        staging.reset();

        sendsFail[0] = true; // the de-duplication read fails after the batch began: refused, and ended
        assertThatThrownBy(() -> staging.stageAll(List.of(send(ALICE, alice, "bob", "m-2"),
            send(ALICE, alice, "bob", "m-3")))).isInstanceOf(BatchStaging.StagingFailedException.class);
        staging.refuse();

        assertThat(calls).as("each batch locks the inboxes it may write and reserves an id per send, two per entry")
            .containsExactly("begin [alice/2, bob/1] 1", "commit", "begin [alice/1, alice/2] 2", "commit",
                "begin [] 0", "abort", "begin [alice/1, alice/2] 2", "commit", "begin [alice/2, bob/1] 2", "abort");
    }

    @Test
    void shouldRefuseASharedStoreSettingOnAStoreOneProcessOwns() {
        assertThatThrownBy(() -> new BatchStaging(storage.messages(), storage.devices(), new RouterMetrics(registry),
            Clock.fixed(NOW, ZoneOffset.UTC), io.courier.router.RouterConfig.builder().sharedStore(true).build()))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("router.shared-store")
            .hasMessageContaining("PostgreSQL");
    }

    @Test
    void shouldRefuseEveryCommandTakenWhenTheBatchsDeduplicationReadFails() {
        staging.stage(send(ALICE, alice, "bob", "m-0"));
        staging.reset();
        storage.close(); // the read now fails

        assertThatThrownBy(() -> staging.stageAll(List.of(send(ALICE, alice, "bob", "m-1"),
            ackOfSent(BOB, bob, 1), send(ALICE, alice, "bob", "m-2"))))
            .isInstanceOf(BatchStaging.StagingFailedException.class);
        staging.refuse();

        assertThat(staging.stagedCount()).isEqualTo(3);
        assertThat(errors(alice)).extracting(Error::getClientMessageId).containsExactly("m-1", "m-2");
        assertThat(errors(bob)).extracting(Error::getCode).containsExactly(Error.Code.INTERNAL);
    }

    @Test
    void shouldMarkDeliveredAndRouteADeliveredReceiptToTheSenderOnAck() {
        long id = committedSend("m-1");
        staging.stage(ackOfSent(BOB, bob, id));
        staging.commit();

        assertThat(storage.messages().entry(BOB, id)).map(InboxEntry::state).contains(InboxEntry.State.DELIVERED);
        assertThat(storage.messages().pendingCount(BOB)).isZero();
        List<StoredMessage> receipts = storage.messages().pending(ALICE, 0, 10);
        assertThat(receipts).singleElement().satisfies(r -> {
            assertThat(r.kind()).isEqualTo(MessageKind.RECEIPT_DELIVERED);
            assertThat(r.refServerId()).isEqualTo(id);
            assertThat(r.sender()).as("the receipt names the device that has it").isEqualTo(BOB);
        });
        assertThat(staging.offers()).extracting(Offer::owner).containsExactly(ALICE);
        assertThat(staging.replies()).as("a good ack is not answered").isEmpty();
    }

    @Test
    void shouldChangeNothingOnARepeatedAck() {
        long id = committedSend("m-1");
        staging.stage(ackOfSent(BOB, bob, id));
        staging.stage(ackOfSent(BOB, bob, id));
        staging.commit();
        assertThat(storage.messages().pending(ALICE, 0, 10)).hasSize(1);
    }

    @Test
    void shouldRouteReadReceiptAndRemoveTheEntryOnRead() {
        long id = committedSend("m-1");
        staging.stage(ackOfSent(BOB, bob, id));
        staging.stage(readOfSent(BOB, bob, id));
        staging.commit();

        assertThat(storage.messages().entry(BOB, id)).isEmpty();
        assertThat(storage.messages().pending(ALICE, 0, 10)).extracting(StoredMessage::kind)
            .containsExactly(MessageKind.RECEIPT_DELIVERED, MessageKind.RECEIPT_READ);
    }

    @Test
    void shouldRouteDeliveredBeforeReadWhenAMessageIsReadUnacknowledged() {
        long id = committedSend("m-1");
        staging.stage(readOfSent(BOB, bob, id));
        staging.commit();

        assertThat(storage.messages().entry(BOB, id)).isEmpty();
        assertThat(storage.messages().pending(ALICE, 0, 10)).extracting(StoredMessage::kind)
            .containsExactly(MessageKind.RECEIPT_DELIVERED, MessageKind.RECEIPT_READ);
        assertThat(registry.get("courier.messages.delivered").counter().count()).isEqualTo(1);
        assertThat(registry.get("courier.messages.read").counter().count()).isEqualTo(1);
    }

    @Test
    void shouldRefuseToReadAReceipt() {
        long id = committedSend("m-1");
        staging.stage(ackOfSent(BOB, bob, id));
        staging.commit();
        long receiptId = storage.messages().pending(ALICE, 0, 10).get(0).serverId();
        staging.reset();

        staging.stage(readOfSent(ALICE, alice, receiptId));
        staging.commit();
        assertThat(errors(alice)).singleElement().satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.INVALID_ARGUMENT);
            assertThat(e.getServerMessageId()).isEqualTo(receiptId);
        });
        assertThat(storage.messages().pendingCount(ALICE)).as("the receipt is still pending").isEqualTo(1);
    }

    @Test
    void shouldAnswerAckOrReadOfSomeoneElsesMessageWithUnknownMessageAndChangeNothing() {
        long id = committedSend("secret");
        PeerConnection carol = new PeerConnection("carol");
        DeviceId carolId = DeviceId.primary("carol");
        staging.stage(ackOfSent(carolId, carol, id));
        staging.stage(readOfSent(carolId, carol, id));
        staging.commit();

        assertThat(errors(carol)).extracting(Error::getCode).containsExactly(Error.Code.UNKNOWN_MESSAGE,
            Error.Code.UNKNOWN_MESSAGE);
        assertThat(errors(carol)).extracting(Error::getServerMessageId).containsOnly(id);
        assertThat(storage.messages().entry(BOB, id)).map(InboxEntry::state).contains(InboxEntry.State.PENDING);
        assertThat(storage.messages().pendingCount(ALICE)).as("no ticks").isZero();
        assertThat(staging.offers()).isEmpty();
    }

    @Test
    void shouldKeepAnEntryTheConnectionWasNeverSentPendingWhenItIsReadAndTickNothing() {
        long id = committedSend("m-1");
        // bob knows the id (say from alice's Accepted) but his connection has been sent nothing.
        staging.stage(new ReadCommand(BOB, bob, read(id), 0, 0));
        staging.commit();

        assertThat(errors(bob)).singleElement().satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.UNKNOWN_MESSAGE);
            assertThat(e.getServerMessageId()).isEqualTo(id);
            assertThat(e.getFatal()).isFalse();
            assertThat(e.getText()).contains(String.valueOf(id)).contains("has not been sent to bob/1");
        });
        assertThat(storage.messages().pending(BOB, 0, 10)).extracting(StoredMessage::serverId)
            .as("still pending, so still delivered").containsExactly(id);
        assertThat(storage.messages().pendingCount(ALICE)).as("no tick for what bob does not have").isZero();
        assertThat(staging.offers()).isEmpty();
    }

    @Test
    void shouldKeepAnEntryTheConnectionWasNeverSentPendingWhenItIsAcknowledged() {
        long id = committedSend("m-1");
        staging.stage(new AckCommand(BOB, bob, ack(id), 0, id - 1));
        staging.commit();

        assertThat(errors(bob)).extracting(Error::getCode).containsExactly(Error.Code.UNKNOWN_MESSAGE);
        assertThat(storage.messages().entry(BOB, id)).map(InboxEntry::state).contains(InboxEntry.State.PENDING);
        assertThat(storage.messages().pendingCount(ALICE)).isZero();
    }

    @Test
    void shouldTakeAnEntryAtOrBelowTheResumePointAsHeldByTheDevice() {
        long id = committedSend("m-1");
        long later = committedSend("m-2");
        // Resumed after the entry (the device says it stored it) and written nothing yet: it may
        // read the entry it claims, not the later one.
        staging.stage(new ReadCommand(BOB, bob, read(id, later), id, id));
        staging.commit();

        assertThat(errors(bob)).extracting(Error::getServerMessageId).containsExactly(later);
        assertThat(storage.messages().pending(BOB, 0, 10)).extracting(StoredMessage::serverId).containsExactly(later);
        assertThat(storage.messages().pending(ALICE, 0, 10)).extracting(StoredMessage::refServerId)
            .containsOnly(id);
    }

    @Test
    void shouldTakeTheSentIdsOfOneReceiptAndRefuseTheOthers() {
        long first = committedSend("m-1");
        long second = committedSend("m-2");
        staging.stage(new ReadCommand(BOB, bob, read(first, second), 0, first));
        staging.commit();

        assertThat(errors(bob)).extracting(Error::getServerMessageId).containsExactly(second);
        assertThat(storage.messages().pending(BOB, 0, 10)).extracting(StoredMessage::serverId).containsExactly(second);
        assertThat(storage.messages().pending(ALICE, 0, 10)).extracting(StoredMessage::refServerId)
            .containsOnly(first);
    }

    @Test
    void shouldReadAnAcknowledgedEntryOnALaterConnection() {
        long id = committedSend("m-1");
        staging.stage(ackOfSent(BOB, bob, id));
        staging.commit();
        staging.reset();

        // A new connection that has been sent nothing yet: bob acknowledged the message, so he has it.
        PeerConnection bobAgain = new PeerConnection("bob-again");
        staging.stage(new ReadCommand(BOB, bobAgain, read(id), 0, 0));
        staging.commit();

        assertThat(errors(bobAgain)).isEmpty();
        assertThat(storage.messages().entry(BOB, id)).isEmpty();
        assertThat(storage.messages().pending(ALICE, 0, 10)).extracting(StoredMessage::kind)
            .containsExactly(MessageKind.RECEIPT_DELIVERED, MessageKind.RECEIPT_READ);
    }

    @Test
    void shouldCopyASendToTheSendersOtherDevicesWithoutReceiptsForTheCopies() {
        DeviceId laptop = new DeviceId("alice", "laptop");
        staging.stage(new RegisterCommand(laptop));
        staging.stage(send(ALICE, alice, "bob", "m-1"));
        staging.commit();
        long id = accepted(alice).get(0).getServerMessageId();
        assertThat(staging.offers()).extracting(Offer::owner).containsExactly(BOB, laptop);
        assertThat(storage.messages().pending(laptop, 0, 10)).extracting(StoredMessage::serverId).containsExactly(id);
        assertThat(storage.messages().pendingCount(ALICE)).as("no copy for the sending device").isZero();
        staging.reset();

        PeerConnection laptopConnection = new PeerConnection("alice-laptop");
        staging.stage(ackOfSent(laptop, laptopConnection, id));
        staging.commit();
        assertThat(storage.messages().entry(laptop, id)).as("a copy leaves the inbox when acknowledged").isEmpty();
        assertThat(storage.messages().pendingCount(ALICE)).as("no receipt for one's own copy").isZero();
    }

    @Test
    void shouldSendReceiptsToEveryDeviceOfTheSender() {
        DeviceId laptop = new DeviceId("alice", "laptop");
        staging.stage(new RegisterCommand(laptop));
        staging.commit();
        staging.reset();
        long id = committedSend("m-1");
        staging.stage(ackOfSent(BOB, bob, id));
        staging.commit();
        assertThat(staging.offers()).extracting(Offer::owner).containsExactly(ALICE, laptop);
        assertThat(staging.offers()).extracting(o -> o.message().kind()).containsOnly(MessageKind.RECEIPT_DELIVERED);
    }

    @Test
    void shouldRefuseEveryCommandOfABatchTheStoreCouldNotCommit() {
        long id = committedSend("m-1");
        staging.stage(send(ALICE, alice, "bob", "m-2"));
        staging.stage(ackOfSent(BOB, bob, id));
        storage.close(); // the commit now fails

        assertThat(staging.commit()).isFalse();

        assertThat(staging.offers()).isEmpty();
        assertThat(errors(alice)).singleElement().satisfies(e -> {
            assertThat(e.getCode()).isEqualTo(Error.Code.INTERNAL);
            assertThat(e.getClientMessageId()).isEqualTo("m-2");
        });
        assertThat(errors(bob)).extracting(Error::getCode).containsExactly(Error.Code.INTERNAL);
        assertThat(accepted(alice)).as("no single tick for what was not stored").isEmpty();
    }

    // ---------------------------------------------------------------- helpers

    /** Commits a send from alice to bob in a cycle of its own; returns its server id. */
    /** Hands the owner of each append of a batch to {@code owners}, and ignores the rest. */
    private record AppendsOnly(java.util.function.Consumer<DeviceId> owners) implements WriteBatch.Visitor {
        @Override
        public void append(DeviceId owner, StoredMessage message) {
            owners.accept(owner);
        }

        @Override
        public void markDelivered(DeviceId owner, long serverId, long deliveredAtMs) {
        }

        @Override
        public void remove(DeviceId owner, long serverId) {
        }

        @Override
        public void recordSend(DeviceId sender, String clientMessageId, AcceptedSend accepted) {
        }

        @Override
        public void advanceServerId(long serverId) {
        }
    }

    private long committedSend(String clientId) {
        staging.stage(send(ALICE, alice, "bob", clientId));
        staging.commit();
        long id = accepted(alice).get(0).getServerMessageId();
        staging.reset();
        return id;
    }

    private static SendCommand send(DeviceId from, PeerConnection connection, String to, String clientId) {
        return new SendCommand(from, connection, Send.newBuilder().setClientMessageId(clientId).setRecipient(to)
            .setPayload(ByteString.copyFromUtf8("text of " + clientId)).build());
    }

    /** An ack from a connection that was sent everything up to the highest of {@code ids}. */
    private static AckCommand ackOfSent(DeviceId owner, PeerConnection connection, long... ids) {
        return new AckCommand(owner, connection, ack(ids), 0, LongStream.of(ids).max().orElse(0));
    }

    /** A read receipt from a connection that was sent everything up to the highest of {@code ids}. */
    private static ReadCommand readOfSent(DeviceId owner, PeerConnection connection, long... ids) {
        return new ReadCommand(owner, connection, read(ids), 0, LongStream.of(ids).max().orElse(0));
    }

    private static DeliveryAck ack(long... ids) {
        DeliveryAck.Builder ack = DeliveryAck.newBuilder();
        for (long id : ids) {
            ack.addServerMessageIds(id);
        }
        return ack.build();
    }

    private static ReadReceipt read(long... ids) {
        ReadReceipt.Builder read = ReadReceipt.newBuilder();
        for (long id : ids) {
            read.addServerMessageIds(id);
        }
        return read.build();
    }

    private List<Accepted> accepted(PeerConnection to) {
        return staging.replies().stream().filter(r -> r.connection() == to).map(Reply::frame)
            .filter(Frame::hasAccepted).map(Frame::getAccepted).toList();
    }

    private List<Error> errors(PeerConnection to) {
        return staging.replies().stream().filter(r -> r.connection() == to).map(Reply::frame)
            .filter(Frame::hasError).map(Frame::getError).toList();
    }
}
