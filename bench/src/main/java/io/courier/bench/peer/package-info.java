/**
 * The peers Courier is measured against: an MQTT broker (mosquitto) driven through the same load
 * {@link io.courier.bench.load.Target} SPI as Courier itself, and the {@link
 * io.courier.bench.peer.Mosquitto} process that tests and the benchmark coordinator run it in. The
 * broker's settings, and why each is chosen, are in {@code bench/mosquitto.conf}.
 */
package io.courier.bench.peer;
