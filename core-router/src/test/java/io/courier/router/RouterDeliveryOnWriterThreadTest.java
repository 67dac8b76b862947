package io.courier.router;

/**
 * Every case of {@link RouterDeliveryTest} with commits on the storage writer's own thread
 * ({@code router.writer: thread}), as on a backend whose commits wait for a disk, instead of inline
 * on the connections' threads, which the memory backend gets by default.
 */
class RouterDeliveryOnWriterThreadTest extends RouterDeliveryTest {

    @Override
    RouterConfig.WriterMode writerMode() {
        return RouterConfig.WriterMode.THREAD;
    }
}
