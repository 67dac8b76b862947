package io.courier.bench.cli;

import io.courier.bench.sut.SystemUnderTest;
import java.nio.file.Path;

final class MosquittoPeer {
    static SystemUnderTest start(Path dir) {
        throw new UnsupportedOperationException("placeholder until the peer branch lands");
    }
}
