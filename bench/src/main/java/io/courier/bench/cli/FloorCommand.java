package io.courier.bench.cli;

import java.util.List;
import picocli.CommandLine.Command;

/**
 * {@code floor}: the latency scenario through the floors alone — a raw Netty TCP relay and Aeron
 * over IPC and UDP — the numbers Courier's are divided by. {@code latency --floors …} puts them in
 * the same table as the transports.
 */
@Command(name = "floor", mixinStandardHelpOptions = true,
    description = "The latency scenario through the floors: a raw TCP relay, Aeron IPC and Aeron UDP.")
public final class FloorCommand extends LatencyCommand {

    @Override
    List<SystemSpec> systems() {
        refuse("--transports", "--peer");
        select.transports = List.of();
        if (SystemOptions.named(select.floors).isEmpty()) {
            select.floors = io.courier.bench.sut.FloorProcess.KINDS;
        }
        return super.systems();
    }
}
