package io.courier.transport.longpoll.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.courier.transport.proto.Frame;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzzes the decoding of POSTed long-polling bodies, protobuf and JSON: any body either decodes
 * to frames or is refused with {@link Bodies.BadBody} (which the server answers with 400 or 413 and
 * a Courier error) — never another exception. A protobuf body decodes to frames no larger than the
 * limit, and whatever decodes survives the server's own encoding (what it sends in poll
 * responses) unchanged.
 *
 * <p>The input: a byte whose low bit picks JSON, then the body. Committed inputs:
 * {@code LongPollBodiesFuzzTestInputs} beside this class under {@code src/test/resources}.
 */
class LongPollBodiesFuzzTest {

    private static final int MAX = 1024;

    @FuzzTest(maxDuration = "20s")
    void shouldDecodeAnyBodyToFramesOrRefuseIt(byte[] input) throws Bodies.BadBody {
        if (input.length == 0) {
            return;
        }
        boolean json = (input[0] & 1) != 0;
        byte[] body = Arrays.copyOfRange(input, 1, input.length);
        List<Frame> frames;
        try {
            frames = Bodies.decode(body, json, MAX);
        } catch (Bodies.BadBody refused) {
            assertThat(refused.getMessage()).as("the reason given to the client").isNotBlank();
            return;
        }

        if (!json) {
            assertThat(frames).allSatisfy(frame -> assertThat(frame.getSerializedSize()).isLessThanOrEqualTo(MAX));
        }
        assertThat(Bodies.decode(Bodies.encode(frames, json), json, Integer.MAX_VALUE))
            .as("the frames after the server encoded them").isEqualTo(frames);
    }
}
