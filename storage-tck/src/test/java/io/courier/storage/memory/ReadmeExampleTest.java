package io.courier.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's "Writing a storage backend" example is the file CI compiles and runs, verbatim. */
class ReadmeExampleTest {

    private static final String FILE = "storage-tck/src/test/java/io/courier/storage/memory/InMemoryStorageCompatibilityTest.java";

    @Test
    void shouldShowTheCertificationClassExactlyAsItIsBuilt() throws Exception {
        Path root = Path.of("..");
        String readme = Files.readString(root.resolve("README.md"));
        String marker = "<!-- example: " + FILE + " -->\n```java\n";
        int start = readme.indexOf(marker);
        assertThat(start).as("README marks the example").isNotNegative();
        int from = start + marker.length();
        String shown = readme.substring(from, readme.indexOf("```", from));
        assertThat(shown).isEqualTo(Files.readString(root.resolve(FILE)));
    }
}
