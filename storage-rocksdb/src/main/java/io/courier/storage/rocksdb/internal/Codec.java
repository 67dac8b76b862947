package io.courier.storage.rocksdb.internal;

import io.courier.storage.DeviceId;
import io.courier.storage.KeyBundle;
import io.courier.storage.MessageKind;
import io.courier.storage.PresencePrivacy;
import io.courier.storage.StoredMessage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Keys and values on disk.
 *
 * <pre>
 *  owner prefix  = user 0x00 device 0x00          (ids never contain 0x00)
 *  inbox key     = owner prefix, server id (8 bytes, big-endian: byte order = id order)
 *  message value = version(1) kind(1) refServerId(8) timestamp(8)
 *                  str(sender user) str(sender device) str(recipient) str(client id)
 *                  str(content type) bytes(payload) bytes(media)
 *  delivered value = 2 deliveredAt(8) then a message value from its kind on; or, written before
 *                  retention existed, a message value (version 1), whose timestamp stands in for
 *                  the delivery time
 *  str / bytes   = length (4, big-endian) then UTF-8 / raw bytes
 *  send key      = owner prefix (of the sender), client message id (UTF-8)
 *  send value    = server id (8) accepted at (8)
 *  time key      = time (8, big-endian, sign bit flipped: byte order = time order), then the send
 *                  key or inbox key it indexes
 *  presence family: last-seen key = user (UTF-8), value = time (8)
 *                   privacy key = 0x00 user (no user id starts with 0x00), value = version(1)
 *                   visibility(1: 0 everyone, 1 contacts, 2 nobody) count(4) str(contact)...
 * </pre>
 */
final class Codec {

    private static final byte VERSION = 1;
    private static final byte DELIVERED_VERSION = 2;
    static final byte[] EMPTY = new byte[0];
    private static final MessageKind[] KINDS = MessageKind.values();

    private Codec() {
    }

    static byte[] ownerPrefix(DeviceId owner) {
        byte[] user = owner.user().getBytes(StandardCharsets.UTF_8);
        byte[] device = owner.device().getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(user.length + device.length + 2);
        buf.put(user).put((byte) 0).put(device).put((byte) 0);
        return buf.array();
    }

    static byte[] userPrefix(String user) {
        byte[] bytes = user.getBytes(StandardCharsets.UTF_8);
        byte[] prefix = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, prefix, 0, bytes.length);
        return prefix;
    }

    static byte[] inboxKey(DeviceId owner, long serverId) {
        byte[] prefix = ownerPrefix(owner);
        return ByteBuffer.allocate(prefix.length + 8).put(prefix).putLong(serverId).array();
    }

    static byte[] inboxKey(byte[] prefix, long serverId) {
        return ByteBuffer.allocate(prefix.length + 8).put(prefix).putLong(serverId).array();
    }

    static long serverIdOf(byte[] inboxKey) {
        return ByteBuffer.wrap(inboxKey, inboxKey.length - 8, 8).getLong();
    }

    static byte[] sendKey(DeviceId sender, String clientMessageId) {
        byte[] prefix = ownerPrefix(sender);
        byte[] id = clientMessageId.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(prefix.length + id.length).put(prefix).put(id).array();
    }

    static byte[] deviceKey(DeviceId device) {
        byte[] prefix = ownerPrefix(device);
        byte[] key = new byte[prefix.length - 1];
        System.arraycopy(prefix, 0, key, 0, key.length);
        return key;
    }

    static String deviceOf(byte[] deviceKey, int userPrefixLength) {
        return new String(deviceKey, userPrefixLength, deviceKey.length - userPrefixLength, StandardCharsets.UTF_8);
    }

    static byte[] longValue(long value) {
        return ByteBuffer.allocate(8).putLong(value).array();
    }

    static long longOf(byte[] bytes) {
        return ByteBuffer.wrap(bytes).getLong();
    }

    static byte[] twoLongs(long a, long b) {
        return ByteBuffer.allocate(16).putLong(a).putLong(b).array();
    }

    /** {@code time} then {@code key}: index keys sort by time, then by what they index. */
    static byte[] timeKey(long time, byte[] key) {
        return ByteBuffer.allocate(8 + key.length).putLong(time ^ Long.MIN_VALUE).put(key).array();
    }

    /** The smallest time key at {@code time}: every index key of an earlier time sorts below it. */
    static byte[] timeBound(long time) {
        return ByteBuffer.allocate(8).putLong(time ^ Long.MIN_VALUE).array();
    }

    static long timeOf(byte[] timeKey) {
        return ByteBuffer.wrap(timeKey, 0, 8).getLong() ^ Long.MIN_VALUE;
    }

    static byte[] indexedKeyOf(byte[] timeKey) {
        return Arrays.copyOfRange(timeKey, 8, timeKey.length);
    }

    static long acceptedAtOf(byte[] sendValue) {
        return ByteBuffer.wrap(sendValue, 8, 8).getLong();
    }

    /** A delivered entry: the message without its body, and when it was delivered. */
    static byte[] encodeDelivered(StoredMessage m, long deliveredAtMs) {
        byte[] message = encode(m);
        ByteBuffer buf = ByteBuffer.allocate(message.length + 8);
        buf.put(DELIVERED_VERSION).putLong(deliveredAtMs).put(message, 1, message.length - 1);
        return buf.array();
    }

    /** When a delivered value was delivered; for one written before retention, its timestamp. */
    static long deliveredAtOf(byte[] deliveredValue) {
        ByteBuffer buf = ByteBuffer.wrap(deliveredValue);
        return buf.get() == DELIVERED_VERSION ? buf.getLong() : buf.getLong(1 + 1 + 8);
    }

    static byte[] encode(StoredMessage m) {
        byte[][] strings = {
            utf8(m.sender().user()), utf8(m.sender().device()), utf8(m.recipient()), utf8(m.clientMessageId()),
            utf8(m.contentType()), m.payload(), m.media()};
        int size = 1 + 1 + 8 + 8;
        for (byte[] s : strings) {
            size += 4 + s.length;
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        buf.put(VERSION).put((byte) m.kind().ordinal()).putLong(m.refServerId()).putLong(m.timestampMs());
        for (byte[] s : strings) {
            buf.putInt(s.length).put(s);
        }
        return buf.array();
    }

    /** Decodes a message value, or a delivered value of either version. */
    static StoredMessage decode(long serverId, byte[] value) {
        ByteBuffer buf = ByteBuffer.wrap(value);
        byte version = buf.get();
        if (version == DELIVERED_VERSION) {
            buf.getLong();
        } else if (version != VERSION) {
            throw new IllegalStateException("Unknown message encoding version " + version);
        }
        MessageKind kind = KINDS[buf.get()];
        long ref = buf.getLong();
        long timestamp = buf.getLong();
        String senderUser = string(buf);
        String senderDevice = string(buf);
        String recipient = string(buf);
        String clientId = string(buf);
        String contentType = string(buf);
        byte[] payload = bytes(buf);
        byte[] media = bytes(buf);
        return new StoredMessage(serverId, kind, new DeviceId(senderUser, senderDevice), recipient, clientId, ref,
            timestamp, contentType, payload, media);
    }

    /**
     * A key bundle: five length-prefixed byte strings (identity key, agreement key, signature,
     * X25519 identity key, its signature) and the signed pre-key id. Values written before the
     * last three existed end after the signature; they decode with those empty and id 0.
     */
    static byte[] encode(KeyBundle bundle) {
        ByteBuffer buf = ByteBuffer.allocate(24 + bundle.identityKey().length + bundle.agreementKey().length
            + bundle.signature().length + bundle.identityDhKey().length + bundle.identityDhSignature().length);
        buf.putInt(bundle.identityKey().length).put(bundle.identityKey());
        buf.putInt(bundle.agreementKey().length).put(bundle.agreementKey());
        buf.putInt(bundle.signature().length).put(bundle.signature());
        buf.putInt(bundle.identityDhKey().length).put(bundle.identityDhKey());
        buf.putInt(bundle.identityDhSignature().length).put(bundle.identityDhSignature());
        buf.putInt(bundle.signedPreKeyId());
        return buf.array();
    }

    static KeyBundle decodeBundle(byte[] value) {
        ByteBuffer buf = ByteBuffer.wrap(value);
        byte[] identityKey = bytes(buf);
        byte[] agreementKey = bytes(buf);
        byte[] signature = bytes(buf);
        if (!buf.hasRemaining()) {
            return new KeyBundle(identityKey, agreementKey, signature);
        }
        return new KeyBundle(identityKey, agreementKey, signature, bytes(buf), bytes(buf), buf.getInt());
    }

    /** A one-time pre-key's key: the device's {@link #ownerPrefix} and the id, big-endian (unsigned order). */
    static byte[] preKeyKey(DeviceId device, int id) {
        byte[] prefix = ownerPrefix(device);
        return ByteBuffer.allocate(prefix.length + 4).put(prefix).putInt(id).array();
    }

    static int preKeyIdOf(byte[] key) {
        return ByteBuffer.wrap(key, key.length - 4, 4).getInt();
    }

    private static final byte PRIVACY_VERSION = 1;
    private static final PresencePrivacy.Visibility[] VISIBILITIES = PresencePrivacy.Visibility.values();

    static byte[] privacyKey(String user) {
        byte[] id = utf8(user);
        byte[] key = new byte[id.length + 1];
        System.arraycopy(id, 0, key, 1, id.length);
        return key;
    }

    static byte[] encode(PresencePrivacy privacy) {
        int size = 6;
        byte[][] contacts = new byte[privacy.contacts().size()][];
        for (int i = 0; i < contacts.length; i++) {
            contacts[i] = utf8(privacy.contacts().get(i));
            size += 4 + contacts[i].length;
        }
        ByteBuffer buf = ByteBuffer.allocate(size);
        buf.put(PRIVACY_VERSION).put((byte) privacy.visibility().ordinal()).putInt(contacts.length);
        for (byte[] contact : contacts) {
            buf.putInt(contact.length).put(contact);
        }
        return buf.array();
    }

    static PresencePrivacy decodePrivacy(byte[] value) {
        ByteBuffer buf = ByteBuffer.wrap(value);
        byte version = buf.get();
        if (version != PRIVACY_VERSION) {
            throw new IllegalStateException("Presence privacy record of unknown version " + version);
        }
        PresencePrivacy.Visibility visibility = VISIBILITIES[buf.get()];
        String[] contacts = new String[buf.getInt()];
        for (int i = 0; i < contacts.length; i++) {
            contacts[i] = string(buf);
        }
        return new PresencePrivacy(visibility, java.util.List.of(contacts));
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String string(ByteBuffer buf) {
        return new String(bytes(buf), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(ByteBuffer buf) {
        byte[] bytes = new byte[buf.getInt()];
        buf.get(bytes);
        return bytes;
    }
}
