package io.courier.bench.floor;

import io.aeron.ControlledFragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.Header;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.Agent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Aeron floor's middle: polls the ping subscription and offers every message, unchanged, on
 * the pong publication. When the publication is back-pressured the message is left in the
 * subscription's log ({@link Action#ABORT}) and offered again on the next duty cycle, so nothing is
 * dropped and nothing is buffered here. A message no one can receive (no pong subscriber, a
 * closed publication) is dropped and counted.
 */
final class AeronRelayAgent implements Agent, ControlledFragmentHandler {

    private static final Logger LOG = LoggerFactory.getLogger(AeronRelayAgent.class);

    /** Messages per duty cycle, as in Aeron's samples: bounded, so the loop stays responsive. */
    private static final int FRAGMENT_LIMIT = 64;

    private final Subscription ping;
    private final Publication pong;
    private final ControlledFragmentAssembler assembler = new ControlledFragmentAssembler(this);
    private long relayed;
    private long backPressured;
    private long dropped;

    AeronRelayAgent(Subscription ping, Publication pong) {
        this.ping = ping;
        this.pong = pong;
    }

    @Override
    public int doWork() {
        return ping.controlledPoll(assembler, FRAGMENT_LIMIT);
    }

    @Override
    public Action onFragment(DirectBuffer buffer, int offset, int length, Header header) {
        long result = pong.offer(buffer, offset, length);
        if (result > 0) {
            relayed++;
            return Action.CONTINUE;
        }
        if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION) {
            backPressured++;
            return Action.ABORT;
        }
        if (dropped++ == 0) {
            LOG.warn("Aeron relay dropped a message from session {}: pong publication {} answered {}"
                + " (further drops are only counted)", header.sessionId(), pong.channel(), result);
        }
        return Action.CONTINUE;
    }

    @Override
    public void onClose() {
        LOG.info("Aeron relay closing: {} messages relayed, {} offers back-pressured, {} dropped",
            relayed, backPressured, dropped);
    }

    @Override
    public String roleName() {
        return "courier-floor-aeron-relay";
    }
}
