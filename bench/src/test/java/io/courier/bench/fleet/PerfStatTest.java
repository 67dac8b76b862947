package io.courier.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PerfStatTest {

    @Test
    void shouldReadTheInstructionCountFromCsvOutput() {
        assertThat(PerfStat.instructions("12345678,,instructions,1002003,100.00,,\n")).hasValue(12_345_678);
        assertThat(PerfStat.instructions("99,,instructions:u,10,100.00,,\n")).hasValue(99);
    }

    @Test
    void shouldSeeNoCountWhereTheMachineHasNoCounters() {
        assertThat(PerfStat.instructions("<not supported>,,instructions,0,100.00,,\n")).isEmpty();
        assertThat(PerfStat.instructions("<not counted>,,instructions,0,0.00,,\n")).isEmpty();
        assertThat(PerfStat.instructions("perf: command not found\n")).isEmpty();
    }
}
