package io.dsfleet.common.yaml;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.dsfleet.common.Json;
import io.dsfleet.common.manifest.Fixtures;
import io.dsfleet.common.manifest.SharedManifests;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;

/** The linear reader reads exactly as SnakeYAML's own: the same events, positions and errors. */
class LinearStreamReaderTest {
  /** Texts around SnakeYAML's 1023-character reads: line breaks of every kind, BOMs, surrogate pairs, bad characters. */
  static List<String> tricky() {
    List<String> out = new ArrayList<>();
    out.add(Fixtures.BASE);
    out.add(Fixtures.BASE.replace("\n", "\r\n"));
    out.add(Fixtures.BASE.replace("\n", "\r"));
    out.add("\uFEFFa: 1\n---\n\uFEFFb: [x, y]\n...\n");
    out.add("a: \"x\u2028y\u0085z\"\nb: |\n  one\u2028  two\n");
    out.add("k: \"\\0\\e\\t\\x41\\u263A\\U0001F600\"\nl: 'it''s'\n");
    out.add("a:\n\t- tab\n"); // an error: tabs are not indentation
    out.add("a: [1, 2\n"); // an error: unclosed flow sequence
    for (int at : new int[] {1000, 1021, 1022, 1023, 1024, 2045, 2046, 2047}) {
      String pad = "p: " + "x".repeat(at - 4) + "\n"; // the next line starts at character "at"
      out.add(pad + "e: \uD83D\uDE00\uD83D\uDE00 end\n");
      out.add(pad + "c: bad\u0001char\n");
      out.add(pad + "r: a\r\nb: c\n");
      out.add("v: " + "y".repeat(at) + "\uD83D\uDE00" + "z".repeat(3000) + "\n");
    }
    out.add("v: " + "QUJD".repeat(5000) + "\nw: \"" + "q ".repeat(3000) + "\"\nx: >\n  " + "f".repeat(4000) + "\n");
    out.add("a: \uD800 lone surrogate\n");
    return out;
  }

  @Test
  void eventsPositionsAndErrorsAreSnakeYamls() throws IOException {
    List<String> texts = new ArrayList<>(tricky());
    texts.addAll(realManifests());
    for (String text : texts) {
      assertThat(events(new LinearStreamReader(new StringReader(text))))
          .as(text.length() > 60 ? text.substring(0, 60) : text)
          .isEqualTo(events(new StreamReader(new StringReader(text))));
    }
  }

  /** The 30 real manifests read as the same trees as through the mapper Json had before (Jackson's own YAML parser). */
  @Test
  void theRealManifestsReadAsTheSameTrees() throws IOException {
    YAMLMapper plain = YAMLMapper.builder(YAMLFactory.builder().build()).build();
    List<String> manifests = realManifests();
    assertThat(manifests).hasSize(30);
    for (String text : manifests) {
      List<JsonNode> strict = Json.yamlMapper().readValues(Json.yamlMapper().getFactory().createParser(text), JsonNode.class).readAll();
      List<JsonNode> before = plain.readValues(plain.getFactory().createParser(text), JsonNode.class).readAll();
      assertThat(strict).isEqualTo(before);
    }
  }

  private static List<String> realManifests() throws IOException {
    Path dir = SharedManifests.dir();
    try (Stream<Path> files = Files.list(dir)) {
      List<String> out = new ArrayList<>();
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        out.add(Files.readString(f));
      }
      return out;
    }
  }

  /** Each event with its marks' index, line and column, then the error that ended the stream, if any. */
  private static List<String> events(StreamReader reader) {
    List<String> out = new ArrayList<>();
    ParserImpl parser = new ParserImpl(reader, new LoaderOptions());
    try {
      while (parser.peekEvent() != null) {
        Event e = parser.getEvent();
        out.add(e + " " + e.getStartMark().getIndex() + ":" + e.getStartMark().getLine() + ":" + e.getStartMark().getColumn()
            + "-" + e.getEndMark().getIndex() + ":" + e.getEndMark().getLine() + ":" + e.getEndMark().getColumn());
      }
    } catch (RuntimeException e) {
      out.add(e.toString()); // ReaderException tells its position only here
    }
    return out;
  }
}
