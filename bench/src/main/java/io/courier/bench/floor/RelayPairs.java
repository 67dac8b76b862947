package io.courier.bench.floor;

import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Half-open pairs waiting for their other socket. Touched only from the relay's one event loop
 * thread (see {@link RelayServer}), so it needs no lock; joined pairs are not kept here at all,
 * each side holds the other.
 */
final class RelayPairs {

    private static final Logger LOG = LoggerFactory.getLogger(RelayPairs.class);

    private final Map<Integer, RelayLinkHandler> waiting = new HashMap<>();

    /** A socket said its header: join it to its waiting partner, or wait for one. */
    void arrive(RelayLinkHandler link) {
        if (link.role() == RelayProtocol.IDLE) {
            link.join(null);
            return;
        }
        RelayLinkHandler other = waiting.get(link.index());
        if (other == null) {
            waiting.put(link.index(), link);
        } else if (other.role() == link.role()) {
            LOG.warn("Relay pair {} already has a {} waiting; closing the second one from {}",
                link.index(), RelayProtocol.roleName(link.role()), link.remoteAddress());
            link.close();
        } else {
            waiting.remove(link.index());
            other.join(link);
            link.join(other);
        }
    }

    /** A socket closed; if it was still waiting, forget it. */
    void leave(RelayLinkHandler link) {
        waiting.remove(link.index(), link);
    }
}
