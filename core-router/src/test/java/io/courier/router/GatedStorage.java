package io.courier.router;

import io.courier.storage.AcceptedSend;
import io.courier.storage.DeviceDirectory;
import io.courier.storage.DeviceId;
import io.courier.storage.InboxEntry;
import io.courier.storage.KeyStore;
import io.courier.storage.MessageStore;
import io.courier.storage.PresenceStore;
import io.courier.storage.StorageBackend;
import io.courier.storage.StoredMessage;
import io.courier.storage.WriteBatch;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A real backend whose first commit waits at a gate until the test opens it, so a test can look
 * at the world while the storage writer is inside a commit. Everything else passes straight through.
 */
final class GatedStorage implements StorageBackend {

    private final StorageBackend backend;
    private final CountDownLatch arrived = new CountDownLatch(1);
    private final CountDownLatch opened = new CountDownLatch(1);
    private final MessageStore messages;

    GatedStorage(StorageBackend backend) {
        this.backend = backend;
        MessageStore inner = backend.messages();
        this.messages = new MessageStore() {
            @Override
            public void commit(WriteBatch batch) {
                arrived.countDown();
                try {
                    if (!opened.await(30, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("The test never opened the commit gate");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("Interrupted at the commit gate", e);
                }
                inner.commit(batch);
            }

            @Override
            public List<StoredMessage> pending(DeviceId owner, long afterServerId, int limit) {
                return inner.pending(owner, afterServerId, limit);
            }

            @Override
            public Optional<InboxEntry> entry(DeviceId owner, long serverId) {
                return inner.entry(owner, serverId);
            }

            @Override
            public Optional<AcceptedSend> acceptedSend(DeviceId sender, String clientMessageId) {
                return inner.acceptedSend(sender, clientMessageId);
            }

            @Override
            public long highestServerId() {
                return inner.highestServerId();
            }

            @Override
            public long pendingCount(DeviceId owner) {
                return inner.pendingCount(owner);
            }

            @Override
            public int expireSends(long acceptedBeforeMs, int limit) {
                return inner.expireSends(acceptedBeforeMs, limit);
            }

            @Override
            public int expireDelivered(long deliveredBeforeMs, int limit) {
                return inner.expireDelivered(deliveredBeforeMs, limit);
            }
        };
    }

    /** True once a commit waits at the gate. */
    boolean commitWaiting() {
        return arrived.getCount() == 0;
    }

    /** Lets the waiting commit, and every later one, through. */
    void open() {
        opened.countDown();
    }

    @Override
    public String name() {
        return "gated-" + backend.name();
    }

    @Override
    public MessageStore messages() {
        return messages;
    }

    @Override
    public DeviceDirectory devices() {
        return backend.devices();
    }

    @Override
    public PresenceStore presence() {
        return backend.presence();
    }

    @Override
    public KeyStore keys() {
        return backend.keys();
    }

    @Override
    public io.courier.storage.RevocationStore revocations() {
        return backend.revocations();
    }

    @Override
    public void close() {
        open();
        backend.close();
    }
}
