package io.dsfleet.common;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.dsfleet.common.yaml.StrictYamlFactory;
import java.io.UncheckedIOException;

/**
 * The one JSON/YAML configuration of the project. Canonical JSON (sorted map keys, record
 * components in declaration order, nulls left out) is what the template hash and the stores use,
 * so it must never change in a way that changes the bytes of an existing object.
 */
public final class Json {
  /** The canonical configuration, java.time's module aside. */
  private static JsonMapper.Builder canonicalBuilder() {
    return JsonMapper.builder()
        .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
        .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
        .serializationInclusion(JsonInclude.Include.NON_NULL)
        .configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, false);
  }

  /** The canonical mappers, made on first use (so a reader of {@link #readUntimed} alone never loads java.time's module). */
  private static final class Canonical {
    static final ObjectMapper MAPPER = canonicalBuilder().addModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule()).build();

    static final ObjectMapper PRETTY = MAPPER.copy().enable(SerializationFeature.INDENT_OUTPUT);
  }

  /**
   * The canonical configuration without java.time's module, for types that hold no java.time value
   * (the agent's pod templates): the module's 54 classes were loaded into every agent running a pod,
   * and so into its class-data archive, to read templates that have none (docs/agent.md,
   * "Footprint"). A type with one is refused by Jackson, by name, never read otherwise.
   */
  private static final class Untimed {
    static final ObjectMapper MAPPER = canonicalBuilder().build();
  }

  /**
   * Reads through {@link StrictYamlFactory}: linear in the input, aliases refused, documents of at
   * most 4 MiB. Made on first use: the agent reads its templates as JSON, and a YAML mapper made
   * with the JSON one loaded jackson-dataformat-yaml and SnakeYAML into every agent running a pod,
   * and into its class-data archive (docs/agent.md, "Footprint").
   */
  private static final class Yaml {
    static final YAMLMapper MAPPER =
        YAMLMapper.builder(
                new StrictYamlFactory(YAMLFactory.builder()
                    .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)))
            .configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .build();
  }

  private Json() {}

  public static ObjectMapper mapper() {
    return Canonical.MAPPER;
  }

  public static YAMLMapper yamlMapper() {
    return Yaml.MAPPER;
  }

  /** Canonical compact JSON of a record or tree. */
  public static String canonical(Object value) {
    try {
      return Canonical.MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String pretty(Object value) {
    try {
      return Canonical.PRETTY.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String yaml(Object value) {
    try {
      return Yaml.MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static <T> T read(String json, Class<T> type) {
    try {
      return Canonical.MAPPER.readValue(json, type);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * {@link #read}, for a type that holds no java.time value (see {@link Untimed}): the same
   * configuration, the same result, without loading java.time's module.
   */
  public static <T> T readUntimed(String json, Class<T> type) {
    try {
      return Untimed.MAPPER.readValue(json, type);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static <T> T read(String json, com.fasterxml.jackson.core.type.TypeReference<T> type) {
    try {
      return Canonical.MAPPER.readValue(json, type);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static JsonNode tree(Object value) {
    return Canonical.MAPPER.valueToTree(value);
  }
}
