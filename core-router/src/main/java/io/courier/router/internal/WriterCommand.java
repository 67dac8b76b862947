package io.courier.router.internal;

import io.courier.storage.DeviceId;
import io.courier.transport.Connection;
import io.courier.transport.Frames;
import io.courier.transport.proto.DeliveryAck;
import io.courier.transport.proto.Error;
import io.courier.transport.proto.ReadReceipt;
import io.courier.transport.proto.Send;

/**
 * What an I/O thread asks the {@link StorageWriter} to do: the only things its queue carries.
 * Each command names the device it acts for and, when it is answered, the connection its answers go to.
 *
 * <p>Each command says itself how it is staged and how it is refused, through the two abstract
 * methods below, rather than the writer telling them apart. Release 17 has no pattern matching
 * for {@code switch}: telling sealed types apart there means an {@code instanceof} chain, which
 * the compiler does not check for completeness, or an enum of kinds with a {@code switch} expression, which
 * the compiler checks for completeness but whose casts from kind to record it does not. An
 * abstract method on a sealed interface is checked where it matters: a new command does not
 * compile until it says how it is staged and refused, and no class outside this file can be one.
 */
public sealed interface WriterCommand {

    /**
     * The session whose share of the writer's queue this command counts against, or null when it
     * counts against none (commands built by tests). The I/O thread takes {@link #units()} of the
     * share before queuing the command; the writer gives them back once it has answered it.
     */
    Session session();

    /**
     * What this command counts for in its session's share: one, or for an ack or read receipt
     * one per id it names, since each id is a storage read for the writer.
     */
    default int units() {
        return 1;
    }

    /** Adds this command's work to the batch {@code staging} is building. Writer thread only. */
    void stageInto(BatchStaging staging);

    /**
     * Answers this command when its batch was not committed: nothing it asked for was stored, and
     * the answer says to send it again. Writer thread only.
     */
    void refuseInto(BatchStaging staging);

    /**
     * Whether the device on a connection that resumed after {@code resumedAfter} and has been
     * written entries up to {@code sentUpTo} holds pending entry {@code serverId}: it was written
     * on this connection (a session writes every pending entry above its resume point, in id order),
     * or the device said in its hello that it has stored it already (at or below the resume point:
     * a device whose ack was lost with its last connection resumes past the entry and must still
     * be able to acknowledge it, or it would stay pending for ever).
     */
    private static boolean sent(long serverId, long resumedAfter, long sentUpTo) {
        return serverId <= Math.max(resumedAfter, sentUpTo);
    }

    /** A chat message from {@code sender}: stored, then answered with a single tick. */
    record SendCommand(DeviceId sender, Connection connection, Send send, Session session) implements WriterCommand {
        public SendCommand(DeviceId sender, Connection connection, Send send) {
            this(sender, connection, send, null);
        }

        @Override
        public void stageInto(BatchStaging staging) {
            staging.stageSend(this);
        }

        @Override
        public void refuseInto(BatchStaging staging) {
            staging.reply(connection, Frames.sendError(Error.Code.INTERNAL,
                "Storage failed; the message was not stored, send it again", send.getClientMessageId()));
        }
    }

    /**
     * {@code owner} stored these entries: they leave its pending inbox, the senders get double
     * ticks. Only entries this connection was sent count: see {@link #wasSent}.
     *
     * @param resumedAfter the connection's resume point ({@link Session#resumedAfter()}).
     * @param sentUpTo     the highest id written to the connection when the ack arrived
     *                     ({@link Session#lastSentId()}).
     */
    record AckCommand(DeviceId owner, Connection connection, DeliveryAck ack, long resumedAfter, long sentUpTo,
                      Session session) implements WriterCommand {

        public AckCommand(DeviceId owner, Connection connection, DeliveryAck ack, long resumedAfter, long sentUpTo) {
            this(owner, connection, ack, resumedAfter, sentUpTo, null);
        }

        @Override
        public int units() {
            return Math.max(1, ack.getServerMessageIdsCount());
        }

        /** True when pending entry {@code serverId} of {@code owner}'s inbox was written to this connection. */
        boolean wasSent(long serverId) {
            return sent(serverId, resumedAfter, sentUpTo);
        }

        @Override
        public void stageInto(BatchStaging staging) {
            staging.stageAck(this);
        }

        @Override
        public void refuseInto(BatchStaging staging) {
            staging.reply(connection, Frames.error(Error.Code.INTERNAL,
                "Storage failed; acknowledgement not recorded, send it again"));
        }
    }

    /**
     * {@code owner}'s user read these messages: they leave its inbox, the senders get blue ticks.
     * Only entries this device has count: acknowledged ones, and pending ones this connection was
     * sent (the parameters as for {@link AckCommand}).
     */
    record ReadCommand(DeviceId owner, Connection connection, ReadReceipt read, long resumedAfter, long sentUpTo,
                       Session session) implements WriterCommand {

        public ReadCommand(DeviceId owner, Connection connection, ReadReceipt read, long resumedAfter, long sentUpTo) {
            this(owner, connection, read, resumedAfter, sentUpTo, null);
        }

        @Override
        public int units() {
            return Math.max(1, read.getServerMessageIdsCount());
        }

        /** True when pending entry {@code serverId} of {@code owner}'s inbox was written to this connection. */
        boolean wasSent(long serverId) {
            return sent(serverId, resumedAfter, sentUpTo);
        }

        @Override
        public void stageInto(BatchStaging staging) {
            staging.stageRead(this);
        }

        @Override
        public void refuseInto(BatchStaging staging) {
            staging.reply(connection, Frames.error(Error.Code.INTERNAL,
                "Storage failed; read receipt not recorded, send it again"));
        }
    }

    /**
     * A device other than the primary said hello: from now on it gets its own copy of its user's
     * messages, unless its user has too many devices already; then its session is refused (what
     * it sent after its hello is not taken) and its connection closed with TOO_MANY_DEVICES.
     *
     * @param session the session the hello opened; null for a registration that answers nobody.
     */
    record RegisterCommand(DeviceId device, Session session, Runnable registered) implements WriterCommand {

        public RegisterCommand(DeviceId device) {
            this(device, null, null);
        }

        public RegisterCommand(DeviceId device, Session session) {
            this(device, session, null);
        }

        @Override
        public void stageInto(BatchStaging staging) {
            staging.stageRegister(this);
        }

        @Override
        public void refuseInto(BatchStaging staging) {
            // Registration writes the device directory at once, not the batch, so a refused batch
            // took nothing of it back, and a registration that failed itself answers nobody: the
            // device registers again on its next hello, as it does on every hello.
        }
    }
}
