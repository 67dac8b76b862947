package io.courier.bench.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class FlameGraphTest {

    private static final List<String> STACKS = List.of(
        "java.lang.Thread.run;io.courier.router.Router.onFrame;com.google.protobuf.Parser.parse 30",
        "java.lang.Thread.run;io.courier.router.Router.onFrame;io.courier.Store.commit 50",
        "java.lang.Thread.run;epoll_wait;do_epoll_wait_[k] 20",
        "",
        "java.lang.Thread.run;io.courier.router.Router.onFrame;com.google.protobuf.Parser.parse 10");

    @Test
    void shouldMergeStacksAndCountEachFramesSamples() {
        FlameGraph.Node root = FlameGraph.parse(STACKS);
        assertThat(root.samples).isEqualTo(110);
        FlameGraph.Node run = root.children.get("java.lang.Thread.run");
        assertThat(run.samples).isEqualTo(110);
        assertThat(run.children.get("io.courier.router.Router.onFrame").samples).isEqualTo(90);
        assertThat(run.children.get("io.courier.router.Router.onFrame").children
            .get("com.google.protobuf.Parser.parse").samples).isEqualTo(40);
        assertThat(root.depth()).isEqualTo(4);
    }

    @Test
    void shouldDrawFramesAsWideAsTheirShareInWellFormedSvg() throws Exception {
        String svg = FlameGraph.render(STACKS, "test <run>");
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        NodeList titles = doc.getElementsByTagName("title");
        double allWidth = -1;
        double commitWidth = -1;
        for (int i = 0; i < titles.getLength(); i++) {
            Element group = (Element) titles.item(i).getParentNode();
            Element rect = (Element) group.getElementsByTagName("rect").item(0);
            String title = titles.item(i).getTextContent();
            if (title.startsWith("all ")) {
                allWidth = Double.parseDouble(rect.getAttribute("width"));
            } else if (title.startsWith("io.courier.Store.commit ")) {
                commitWidth = Double.parseDouble(rect.getAttribute("width"));
                assertThat(title).contains("50 samples").contains("45.45%");
            }
        }
        assertThat(commitWidth / allWidth).isBetween(0.45, 0.46);
        assertThat(svg).contains("test &lt;run&gt; — 110 samples");
        assertThat(FlameGraph.colour("do_epoll_wait_[k]")).isNotEqualTo(FlameGraph.colour("epoll_wait"));
    }

    @Test
    void shouldBeOnlyAsTallAsTheFramesItDraws() throws Exception {
        String deep = String.join(";", java.util.Collections.nCopies(60, "deep")) + " 1";
        String svg = FlameGraph.render(List.of("a;b 100000", deep), "x");
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        double height = Double.parseDouble(doc.getDocumentElement().getAttribute("height"));
        String tall = FlameGraph.render(List.of("a;b 2", deep), "x");
        Document tallDoc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
            .parse(new ByteArrayInputStream(tall.getBytes(StandardCharsets.UTF_8)));
        assertThat(height).as("one sample in 100,001 is too narrow to draw").isLessThan(
            Double.parseDouble(tallDoc.getDocumentElement().getAttribute("height")) / 5);
    }

    @Test
    void shouldNameTheLineThatIsNotCollapsedStacks() {
        assertThatThrownBy(() -> FlameGraph.render(List.of("a;b 3", "a;b three"), "x"))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("line 2");
        assertThatThrownBy(() -> FlameGraph.render(List.of(""), "x"))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no samples");
    }
}
