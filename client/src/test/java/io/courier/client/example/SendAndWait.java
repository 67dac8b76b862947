package io.courier.client.example;

import io.courier.client.CourierClient;
import io.courier.client.CourierListener;
import io.courier.client.Message;
import io.courier.client.MessageState;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Sends one message and waits for its double tick. Run: SendAndWait tcp://127.0.0.1:7100 alice bob */
public final class SendAndWait {

    public static void main(String[] args) throws InterruptedException {
        URI server = URI.create(args[0]);
        String user = args[1];
        String recipient = args[2];
        CountDownLatch delivered = new CountDownLatch(1);
        try (CourierClient client = CourierClient.builder()
                .server(server)                                  // tcp://, udp://, ws://…/ws or http://…/lp
                .user(user)
                .token(() -> System.getenv("COURIER_TOKEN"))     // asked again on every connect
                .database(Path.of(user + ".db"))                 // outbox and history; created if absent
                .listener(new CourierListener() {
                    @Override
                    public void onStateChanged(Message m) {      // after the change is committed
                        System.out.println(m.clientId() + " is " + m.state());
                        if (m.state() == MessageState.DELIVERED) {
                            delivered.countDown();
                        }
                    }

                    @Override
                    public void onMessage(Message m) {
                        System.out.println(m.sender() + ": " + m.text());
                    }
                })
                .build()) {
            String id = client.sendText(recipient, "Hello from the SDK"); // stored, returns at once
            System.out.println("queued " + id + ", " + client.status().state());
            if (!delivered.await(30, TimeUnit.SECONDS)) {
                System.out.println("not delivered yet; it stays queued in " + client.database());
            }
            for (Message m : client.history(recipient)) {
                System.out.println(m.direction() + " " + m.text() + " " + m.state());
            }
        }
    }
}
