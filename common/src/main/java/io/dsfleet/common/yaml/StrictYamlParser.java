package io.dsfleet.common.yaml;

import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.ObjectCodec;
import com.fasterxml.jackson.core.io.IOContext;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.io.Reader;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.parser.ParserImpl;

/** Jackson's YAML parser over a {@link LinearStreamReader}, refusing aliases ({@link YamlAliasException}). */
final class StrictYamlParser extends YAMLParser {
  StrictYamlParser(IOContext ctxt, int parserFeatures, int yamlFeatures, LoaderOptions options, ObjectCodec codec, Reader reader) {
    super(ctxt, parserFeatures, yamlFeatures, codec, reader,
        new ParserImpl(new LinearStreamReader(_constrainedReader(ctxt, reader)), options == null ? new LoaderOptions() : options));
  }

  @Override
  protected Event getEvent() throws IOException {
    Event event = super.getEvent();
    if (event instanceof AliasEvent alias) {
      throw new YamlAliasException(this, alias.getAnchor(), pathOfNext(), _locationFor(alias.getStartMark()));
    }
    return event;
  }

  /** The path of the node about to be read: the value of the current field, a key, or the next list item. */
  private String pathOfNext() {
    JsonStreamContext ctx = _parsingContext;
    if (ctx.inObject()) {
      return _currToken == JsonToken.FIELD_NAME ? join(pathOf(ctx), ctx.getCurrentName()) : pathOf(ctx);
    }
    if (ctx.inArray()) {
      return pathOf(ctx) + "[" + ctx.getEntryCount() + "]";
    }
    return "";
  }

  /** The path of the object or list a context reads. */
  private static String pathOf(JsonStreamContext ctx) {
    JsonStreamContext parent = ctx.getParent();
    if (parent == null || parent.inRoot()) {
      return "";
    }
    String base = pathOf(parent);
    return parent.inObject() ? join(base, parent.getCurrentName()) : base + "[" + parent.getCurrentIndex() + "]";
  }

  private static String join(String path, String field) {
    return path.isEmpty() ? field : path + "." + field;
  }
}
