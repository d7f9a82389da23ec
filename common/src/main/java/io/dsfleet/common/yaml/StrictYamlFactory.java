package io.dsfleet.common.yaml;

import com.fasterxml.jackson.core.io.IOContext;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactoryBuilder;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.CharArrayReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import org.yaml.snakeyaml.LoaderOptions;

/**
 * The YAML factory every reader of YAML in the project uses (through {@code Json.yamlMapper()}):
 * its parsers read in time and memory linear in the input ({@link LinearStreamReader}), refuse
 * aliases ({@link YamlAliasException}), and refuse a document of more than
 * {@link #CODE_POINT_LIMIT} code points. Writing YAML is Jackson's, unchanged.
 */
public final class StrictYamlFactory extends YAMLFactory {
  private static final long serialVersionUID = 1L;

  /**
   * The largest YAML document read: 4 MiB, the coordinator's default request limit
   * (maxMessageBytes), so any document that reaches the coordinator fits (SnakeYAML's own default
   * is 3 MiB). A code point is at least a byte, so a manifest dsctl accepts always fits.
   */
  public static final int CODE_POINT_LIMIT = 4 * 1024 * 1024;

  /** @param builder its loader options are replaced by ones with {@link #CODE_POINT_LIMIT} */
  public StrictYamlFactory(YAMLFactoryBuilder builder) {
    super(builder.loaderOptions(loaderOptions()));
  }

  private StrictYamlFactory(StrictYamlFactory src) {
    super(src, null);
  }

  private static LoaderOptions loaderOptions() {
    LoaderOptions options = new LoaderOptions();
    options.setCodePointLimit(CODE_POINT_LIMIT);
    return options;
  }

  @Override
  public StrictYamlFactory copy() {
    _checkInvalidCopy(StrictYamlFactory.class);
    return new StrictYamlFactory(this);
  }

  @Override
  protected YAMLParser _createParser(Reader r, IOContext ctxt) {
    return new StrictYamlParser(ctxt, _parserFeatures, _yamlParserFeatures, _loaderOptions, _objectCodec, r);
  }

  @Override
  protected YAMLParser _createParser(InputStream in, IOContext ctxt) throws IOException {
    return _createParser(_createReader(in, null, ctxt), ctxt);
  }

  @Override
  protected YAMLParser _createParser(char[] data, int offset, int len, IOContext ctxt, boolean recyclable) {
    return _createParser(new CharArrayReader(data, offset, len), ctxt);
  }

  @Override
  protected YAMLParser _createParser(byte[] data, int offset, int len, IOContext ctxt) throws IOException {
    return _createParser(_createReader(data, offset, len, null, ctxt), ctxt);
  }
}
