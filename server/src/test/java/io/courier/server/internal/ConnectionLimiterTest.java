package io.courier.server.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.courier.transport.ConnectionGate;
import io.courier.transport.proto.Error;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The gate's rules, with a clock the test moves: who is evicted to make room, who is refused, how
 * many may linger, how addresses are grouped, and what the hello deadline applies to.
 */
class ConnectionLimiterTest {

    private final AtomicLong now = new AtomicLong();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    private ConnectionLimiter limiter(int max, int perAddress, int lingerAllowance) {
        return new ConnectionLimiter(max, perAddress, lingerAllowance, 1_000, registry, now::get, false);
    }

    @Test
    void shouldEvictTheOldestUnauthenticatedAndNeverAnAuthenticatedOne() throws Exception {
        ConnectionLimiter gate = limiter(3, 100, 10);
        Recorder signedIn = new Recorder();
        Recorder oldest = new Recorder();
        Recorder younger = new Recorder();
        gate.admit(address("10.0.0.1"), "tcp", signedIn).authenticated();
        gate.admit(address("10.0.0.2"), "tcp", oldest);
        gate.admit(address("10.0.0.3"), "tcp", younger);

        assertThat(gate.admit(address("10.0.0.4"), "tcp", new Recorder()).admitted()).isTrue();
        assertThat(oldest.evictions).singleElement().extracting(Error::getCode).isEqualTo(Error.Code.TOO_MANY_CONNECTIONS);
        assertThat(younger.evictions).isEmpty();
        assertThat(signedIn.evictions).isEmpty();
    }

    @Test
    void shouldRefuseWhenEveryConnectionIsAuthenticatedAndAdmitAgainOnceOneIsReleased() throws Exception {
        ConnectionLimiter gate = limiter(2, 100, 10);
        ConnectionGate.Admission first = gate.admit(address("10.0.0.1"), "tcp", new Recorder());
        first.authenticated();
        gate.admit(address("10.0.0.2"), "udp", new Recorder()).authenticated();

        ConnectionGate.Admission refused = gate.admit(address("10.0.0.3"), "ws", new Recorder());
        assertThat(refused.admitted()).isFalse();
        assertThat(refused.refusal().getText()).contains("limits.max-connections");
        refused.release();
        first.release();
        assertThat(gate.admit(address("10.0.0.3"), "ws", new Recorder()).admitted()).isTrue();
        assertThat(registry.counter("courier.connections.refused", "reason", "max-connections", "transport", "ws").count())
            .isEqualTo(1);
    }

    @Test
    void shouldCloseTheOldestLingeringConnectionAtOnceBeyondTheAllowance() throws Exception {
        ConnectionLimiter gate = limiter(1, 100, 1);
        Recorder first = new Recorder();
        Recorder second = new Recorder();
        gate.admit(address("10.0.0.1"), "tcp", first);
        gate.admit(address("10.0.0.2"), "tcp", second);
        assertThat(first.evictions).hasSize(1);
        assertThat(first.aborted).as("one lingering connection is within the allowance").isZero();

        gate.admit(address("10.0.0.3"), "tcp", new Recorder());
        assertThat(second.evictions).hasSize(1);
        assertThat(first.aborted).as("the oldest lingering one is cut short").isEqualTo(1);
        assertThat(second.aborted).isZero();
        // Places of lingering connections count until released: the file descriptors are still held.
        assertThat(gate.held()).isEqualTo(3);
    }

    @Test
    void shouldCountAnIpv6AddressByItsSlash64() throws Exception {
        ConnectionLimiter gate = limiter(100, 1, 10);
        gate.admit(address("2001:db8:1:2::1"), "tcp", new Recorder()).authenticated();
        ConnectionGate.Admission sameHost = gate.admit(address("2001:db8:1:2:ffff::9"), "tcp", new Recorder());
        assertThat(sameHost.admitted()).isFalse();
        assertThat(sameHost.refusal().getText()).contains("(its /64)").contains("limits.max-connections-per-address");
        assertThat(gate.admit(address("2001:db8:1:3::1"), "tcp", new Recorder()).admitted()).isTrue();
    }

    @Test
    void shouldCloseWhatTheRouterNeverHeardOfAfterTheHelloTimeoutButLeaveOpenedOnesToTheRouter() throws Exception {
        ConnectionLimiter gate = limiter(100, 100, 10);
        Recorder neverUpgraded = new Recorder();
        Recorder opened = new Recorder();
        gate.admit(address("10.0.0.1"), "ws", neverUpgraded);
        gate.admit(address("10.0.0.2"), "ws", opened).opened();

        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
        gate.sweep();
        assertThat(neverUpgraded.evictions).isEmpty();
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(2));
        gate.sweep();
        assertThat(neverUpgraded.evictions).singleElement().extracting(Error::getCode)
            .isEqualTo(Error.Code.NOT_AUTHENTICATED);
        assertThat(opened.evictions).as("its hello timeout is the router's").isEmpty();
    }

    private static InetAddress address(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    /** An evictable that records what the gate asked of it. */
    private static final class Recorder implements ConnectionGate.Evictable {
        final List<Error> evictions = new ArrayList<>();
        int aborted;

        @Override
        public void evict(Error reason) {
            evictions.add(reason);
        }

        @Override
        public void abort() {
            aborted++;
        }
    }
}
