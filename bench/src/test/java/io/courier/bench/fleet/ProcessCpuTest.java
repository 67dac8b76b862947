package io.courier.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProcessCpuTest {

    @Test
    void shouldAddUserAndSystemTimeCountingFieldsFromTheLastParenthesis() {
        // A command name with a space and a ')' of its own, as a thread may name itself.
        String stat = "4242 (java) x) S 1 4242 4242 0 -1 4194304 1234 0 5 0 731 269 0 0 20 0 33 0 987 4000000 5000 "
            + "18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0\n";
        assertThat(ProcessCpu.cpuTicks(stat)).isEqualTo(731 + 269);
    }

    @Test
    void shouldRefuseTextThatIsNotAStatLine() {
        assertThatThrownBy(() -> ProcessCpu.cpuTicks("VmRSS: 100 kB")).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("Not a /proc/PID/stat line");
        assertThatThrownBy(() -> ProcessCpu.cpuTicks("1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s"))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("utime, stime");
    }

    @Test
    void shouldSumVoluntaryAndInvoluntaryContextSwitches() {
        String status = "Name:\tjava\nState:\tS (sleeping)\nvoluntary_ctxt_switches:\t120\n"
            + "nonvoluntary_ctxt_switches:\t7\n";
        assertThat(ProcessCpu.contextSwitches(status)).isEqualTo(127);
    }

    @Test
    void shouldReadThisProcessAndSeeItsCpuTimeGrow() throws Exception {
        long pid = ProcessHandle.current().pid();
        ProcessCpu.Reading before = ProcessCpu.read(pid);
        ProcessCpu.Reading after = before;
        // Spend CPU until the kernel has counted a tick more; CPU time, not wall time, ends it.
        long sink = 0;
        while (after.cpuTicks() == before.cpuTicks()) {
            for (int i = 0; i < 1_000_000; i++) {
                sink += i * 31L ^ sink;
            }
            after = ProcessCpu.read(pid);
        }
        assertThat(sink).isNotEqualTo(1);
        ProcessCpu.Reading spent = after.since(before);
        assertThat(spent.cpuTicks()).isPositive();
        assertThat(spent.contextSwitches()).isNotNegative();
        assertThat(ProcessCpu.millis(spent.cpuTicks())).isEqualTo(spent.cpuTicks() * 1000.0 / ProcessCpu.TICKS_PER_SECOND);
    }
}
