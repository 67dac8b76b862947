package io.courier.bench.cli;

import io.courier.bench.sut.FloorProcess;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code floor}: the latency scenario through the floors alone — a raw Netty TCP relay and Aeron
 * over IPC and UDP — the numbers Courier's are divided by. {@code latency --floors …} puts them in
 * the same table as the transports.
 */
@Command(name = "floor", mixinStandardHelpOptions = true, versionProvider = BenchVersion.class,
    description = "The latency scenario through the floors: a raw TCP relay, Aeron IPC and Aeron UDP. "
        + "'latency --floors' measures them beside Courier's transports.")
public final class FloorCommand extends FixedRateCommand {

    @Option(names = "--floors", split = ",", defaultValue = "relay,aeron-ipc,aeron-udp",
        description = "Floors to measure: relay, aeron-ipc, aeron-udp (default ${DEFAULT-VALUE}).")
    List<String> floors = new ArrayList<>(FloorProcess.KINDS);

    @Mixin
    ServerJvmOptions jvm;

    @Override
    List<SystemSpec> systems() {
        return SystemSpec.nonEmpty(SystemSpec.floors(SystemSpec.named(floors), jvm.serverJvmArgs), "--floors");
    }

    @Override
    JsonObject systemConfig() {
        return new JsonObject().put("serverJvmArgs", jvm.serverJvmArgs);
    }
}
