package io.dsfleet.common.manifest;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import io.dsfleet.common.match.LabelSelectors;
import io.dsfleet.common.model.ConfigMap;
import io.dsfleet.common.model.DaemonSet;
import io.dsfleet.common.model.KubeObject;
import io.dsfleet.common.model.LabelSelector;
import io.dsfleet.common.model.Secret;
import io.dsfleet.common.yaml.YamlAliasException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads multi-document YAML (or JSON) into validated, defaulted objects.
 *
 * <p>Per document: kinds other than apps/v1 DaemonSet, v1 ConfigMap and v1 Secret are skipped with
 * a note; the rest are schema-checked against the model records (unsupported fields are errors,
 * fields with no meaning off Kubernetes are warnings), defaulted, bound and validated. One bad
 * document does not hide the others' results.
 */
public final class ManifestParser {
  /** Kinds that real install bundles carry next to a DaemonSet; skipped without complaint. */
  private static final String SKIP_NOTE = "dsfleet applies only DaemonSet, ConfigMap and Secret";

  private ManifestParser() {}

  public static List<ParsedDocument> parse(String text, String source) {
    return parse(text, source, true);
  }

  /** @param validate false for objects a coordinator stored: they passed the rules of their day */
  private static List<ParsedDocument> parse(String text, String source, boolean validate) {
    List<ParsedDocument> out = new ArrayList<>();
    int index = 0;
    Documents read = read(text);
    for (JsonNode doc : read.documents()) {
      // an empty document (a trailing "---", two in a row, only comments: helm template's output) is
      // skipped, as kubectl skips it; the YAML reader gives one after the first as an empty string,
      // which until 2026-12-08 was refused as a document without apiVersion and kind
      if (doc == null || doc.isNull() || doc.isMissingNode() || (doc.isObject() && doc.isEmpty())
          || (doc.isTextual() && doc.asText().isEmpty())) {
        continue;
      }
      index++;
      if (doc.isArray() || (doc.isObject() && "List".equals(doc.path("kind").asText()))) {
        JsonNode list = doc.isArray() ? doc : doc.path("items");
        // a List without items (or with "items:", read as "") holds nothing; items that are no list are refused naming
        // them (until 2026-12-08 both were a ClassCastException: a stack trace from dsctl, UNKNOWN from the coordinator)
        if (!list.isArray() && !list.isMissingNode() && !list.isNull() && !(list.isTextual() && list.asText().isEmpty())) {
          out.add(new ParsedDocument(source, index, "List", doc.path("metadata").path("name").asText(""), null, List.of(),
              List.of(new Problem("items", "Invalid value: expected a list")), null));
          continue;
        }
        ArrayNode items = list.isArray() ? (ArrayNode) list : Json.mapper().createArrayNode();
        for (JsonNode item : items) {
          out.add(document(item, source, index, validate));
          index++;
        }
        index--;
        continue;
      }
      out.add(document(doc, source, index, validate));
    }
    if (read.failure() != null) {
      out.add(syntaxError(source, index + 1, read.failure()));
    }
    return out;
  }

  /** The documents of a stream up to the first that cannot be read, and why it cannot (null when all were read). */
  private record Documents(List<JsonNode> documents, Exception failure) {}

  /**
   * JSON text (the coordinator's own stored objects, kubectl-style JSON manifests) is read as JSON:
   * exactly, and without the YAML document limit, which canonical JSON of an object may exceed
   * though its manifest did not (escapes, defaults). Anything else, or text that only looks like
   * JSON (a YAML flow mapping such as {@code {kind: ConfigMap}}), is read as YAML.
   */
  private static Documents read(String text) {
    if (looksLikeJson(text)) {
      Documents json = read(Json.mapper(), text);
      if (json.failure() == null) {
        return json;
      }
    }
    return read(Json.yamlMapper(), text);
  }

  private static Documents read(ObjectMapper mapper, String text) {
    List<JsonNode> docs = new ArrayList<>();
    try (JsonParser parser = mapper.getFactory().createParser(text)) {
      // a key given twice is an error, as the API server's strict field validation (kubectl's default)
      // makes it: taking the last silently (`privileged: true` below a `privileged: false`) hides it
      parser.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
      MappingIterator<JsonNode> it = mapper.readValues(parser, JsonNode.class);
      while (it.hasNextValue()) {
        docs.add(it.nextValue());
      }
      return new Documents(docs, null);
    } catch (IOException | RuntimeException e) {
      return new Documents(docs, e);
    }
  }

  private static boolean looksLikeJson(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (!Character.isWhitespace(c)) {
        return c == '{' || c == '[';
      }
    }
    return false;
  }

  /**
   * Parses a single object a coordinator stored, as it was accepted then: read, defaulted and bound,
   * not validated again. Rules only tighten (2026-12-05: paths, ranges, duplicate keys), and an
   * object stored under older ones must still load, or the coordinator would not start after an
   * upgrade; {@link #problems} says what such an object breaks now.
   */
  public static KubeObject parseOne(String text) {
    List<ParsedDocument> docs = parse(text, "stored", false);
    if (docs.size() != 1 || !docs.get(0).valid() || docs.get(0).object() == null) {
      throw new IllegalArgumentException("not a single valid object: "
          + (docs.isEmpty() ? "empty" : docs.get(0).errors()));
    }
    return docs.get(0).object();
  }

  /** What today's rules say of an object (empty: it passes them): for one a coordinator stored under older rules. */
  public static List<Problem> problems(KubeObject object) {
    return Validator.validate(object);
  }

  private static ParsedDocument syntaxError(String source, int index, Exception e) {
    if (e instanceof YamlAliasException alias) {
      JsonLocation loc = alias.getLocation();
      return new ParsedDocument(source, index, "", "", null, List.of(), List.of(new Problem(
          alias.path().isEmpty() ? "(document)" : alias.path(),
          alias.getOriginalMessage() + " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")")), null);
    }
    String where = "";
    if (e instanceof JsonProcessingException jpe && jpe.getLocation() != null) {
      JsonLocation loc = jpe.getLocation();
      where = " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }
    String msg = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
    return new ParsedDocument(source, index, "", "", null, List.of(),
        List.of(new Problem("(document)", "YAML syntax error" + where + ": " + firstLine(msg))), null);
  }

  /**
   * Replaces every lone UTF-16 surrogate in the document's string values (JSON's escape of one
   * makes it) with U+FFFD, as the Kubernetes API server's decoding does: such a string has no UTF-8
   * form, so the store would keep another character than the one in memory.
   */
  private static void replaceLoneSurrogates(JsonNode node) {
    if (node instanceof ObjectNode o) {
      for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getValue().isTextual()) {
          String fixed = withoutLoneSurrogates(e.getValue().textValue());
          if (fixed != null) {
            e.setValue(o.textNode(fixed));
          }
        } else {
          replaceLoneSurrogates(e.getValue());
        }
      }
    } else if (node instanceof ArrayNode a) {
      for (int i = 0; i < a.size(); i++) {
        if (a.get(i).isTextual()) {
          String fixed = withoutLoneSurrogates(a.get(i).textValue());
          if (fixed != null) {
            a.set(i, a.textNode(fixed));
          }
        } else {
          replaceLoneSurrogates(a.get(i));
        }
      }
    }
  }

  /** {@code s} with each lone surrogate replaced by U+FFFD; null when it has none. */
  private static String withoutLoneSurrogates(String s) {
    StringBuilder out = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean pair = Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
      if (pair) {
        if (out != null) {
          out.append(c).append(s.charAt(i + 1));
        }
        i++;
        continue;
      }
      if (Character.isSurrogate(c)) {
        if (out == null) {
          out = new StringBuilder(s.length()).append(s, 0, i);
        }
        out.append('\uFFFD');
      } else if (out != null) {
        out.append(c);
      }
    }
    return out == null ? null : out.toString();
  }

  private static ParsedDocument document(JsonNode doc, String source, int index, boolean validate) {
    if (!doc.isObject()) {
      return new ParsedDocument(source, index, "", "", null, List.of(),
          List.of(new Problem("(document)", "Invalid value: expected an object with apiVersion and kind")), null);
    }
    ObjectNode obj = (ObjectNode) doc.deepCopy();
    replaceLoneSurrogates(obj);
    String kind = obj.path("kind").asText("");
    String apiVersion = obj.path("apiVersion").asText("");
    String name = obj.path("metadata").path("name").asText("");
    List<Problem> errors = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    if (kind.isEmpty()) {
      errors.add(Problem.required("kind"));
    }
    if (apiVersion.isEmpty()) {
      errors.add(Problem.required("apiVersion"));
    }
    if (!errors.isEmpty()) {
      return new ParsedDocument(source, index, kind, name, null, warnings, errors, null);
    }
    Class<? extends KubeObject> type;
    switch (kind) {
      case "DaemonSet" -> {
        type = DaemonSet.class;
        if (!apiVersion.equals("apps/v1")) {
          errors.add(Problem.unsupportedValue("apiVersion", apiVersion, List.of("apps/v1")));
        }
      }
      case "ConfigMap" -> {
        type = ConfigMap.class;
        if (!apiVersion.equals("v1")) {
          errors.add(Problem.unsupportedValue("apiVersion", apiVersion, List.of("v1")));
        }
      }
      case "Secret" -> {
        type = Secret.class;
        if (!apiVersion.equals("v1")) {
          errors.add(Problem.unsupportedValue("apiVersion", apiVersion, List.of("v1")));
        }
      }
      default -> {
        return new ParsedDocument(source, index, kind, name, null, warnings, errors, SKIP_NOTE);
      }
    }
    if (type == DaemonSet.class) {
      prePassDaemonSet(obj, warnings);
    }
    SchemaWalker walker = new SchemaWalker();
    walker.walk(obj, type, "");
    errors.addAll(walker.errors());
    warnings.addAll(walker.warnings());
    if (!errors.isEmpty()) {
      return new ParsedDocument(source, index, kind, name, null, warnings, errors, null);
    }
    if (type == DaemonSet.class) {
      Defaults.daemonSet(obj);
    } else {
      Defaults.configObject(obj);
    }
    if (type == Secret.class) {
      foldStringData(obj);
    }
    KubeObject object;
    try {
      object = Json.mapper().treeToValue(obj, type);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      String msg = e instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
      errors.add(new Problem("(document)", "Invalid value: " + firstLine(msg)));
      return new ParsedDocument(source, index, kind, name, null, warnings, errors, null);
    }
    if (validate) {
      errors.addAll(Validator.validate(object));
    }
    if (object instanceof DaemonSet ds && errors.isEmpty()) {
      surgeWarning(ds).ifPresent(warnings::add);
    }
    return new ParsedDocument(source, index, kind, name, errors.isEmpty() ? object : null, warnings, errors, null);
  }

  /**
   * A surge update starts the new pod next to the old one on the same host: host ports and the
   * host's network are shared, so the new pod may not be able to bind what the old one holds.
   */
  private static java.util.Optional<String> surgeWarning(DaemonSet ds) {
    var strategy = ds.spec().updateStrategy();
    var surge = strategy == null || !"RollingUpdate".equals(strategy.type()) || strategy.rollingUpdate() == null ? null
        : strategy.rollingUpdate().maxSurge();
    if (surge == null || surge.scaled(100, true) == 0) {
      return java.util.Optional.empty();
    }
    var spec = ds.spec().template().spec();
    boolean hostPort = spec.containers().stream().anyMatch(c -> c.ports() != null
        && c.ports().stream().anyMatch(p -> p.hostPort() != null && p.hostPort() != 0));
    boolean hostNetwork = Boolean.TRUE.equals(spec.hostNetwork());
    if (!hostPort && !hostNetwork) {
      return java.util.Optional.empty();
    }
    return java.util.Optional.of("spec.updateStrategy.rollingUpdate.maxSurge: the new pod starts next to the old one on"
        + " the same host, and this pod uses " + (hostPort ? "a hostPort" : "the host network") + ": if the old pod"
        + " holds the port, the new one cannot start, the old one keeps running and the rollout makes no progress"
        + " (it fails at dsfleet.io/progress-deadline-seconds when set; docs/rollouts.md)");
  }

  /**
   * Two Kubernetes constructs with no meaning for a DaemonSet off Kubernetes, removed with a
   * warning before the schema check: a required pod anti-affinity against the DaemonSet's own
   * pods per host (a DaemonSet already runs one pod per host), and projected service account
   * tokens (there is no Kubernetes API to present them to). Anything else under podAntiAffinity or
   * podAffinity stays and is refused by the schema check.
   */
  private static void prePassDaemonSet(ObjectNode ds, List<String> warnings) {
    JsonNode podSpec = ds.path("spec").path("template").path("spec");
    JsonNode templateLabels = ds.path("spec").path("template").path("metadata").path("labels");
    if (podSpec.path("affinity") instanceof ObjectNode affinity && affinity.has("podAntiAffinity")
        && isSelfAntiAffinityPerHost(affinity.get("podAntiAffinity"), templateLabels)) {
      affinity.remove("podAntiAffinity");
      warnings.add("spec.template.spec.affinity.podAntiAffinity: ignored (a DaemonSet already runs at most one pod per host)");
    }
    // only a list: volumes of another type are the schema check's to refuse (until 2026-12-08 a map was read here as a
    // list of one, and its null first item a NullPointerException: a stack trace from dsctl, UNKNOWN from the coordinator)
    JsonNode volumes = podSpec.path("volumes").isArray() ? podSpec.path("volumes") : Json.mapper().createArrayNode();
    for (int i = 0; i < volumes.size(); i++) {
      JsonNode sources = volumes.get(i).path("projected").path("sources");
      if (!(sources instanceof ArrayNode array)) {
        continue;
      }
      for (int j = array.size() - 1; j >= 0; j--) {
        if (array.get(j) instanceof ObjectNode src && src.has("serviceAccountToken")) {
          src.remove("serviceAccountToken");
          warnings.add("spec.template.spec.volumes[" + i + "].projected.sources[" + j
              + "].serviceAccountToken: ignored (no Kubernetes API to present a token to)");
          if (src.isEmpty()) {
            array.remove(j);
          }
        }
      }
    }
  }

  private static boolean isSelfAntiAffinityPerHost(JsonNode anti, JsonNode templateLabels) {
    if (!anti.isObject()) {
      return false;
    }
    Map<String, String> labels = new LinkedHashMap<>();
    templateLabels.fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
    Iterator<Map.Entry<String, JsonNode>> it = anti.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      boolean preferred = e.getKey().equals("preferredDuringSchedulingIgnoredDuringExecution");
      if (!preferred && !e.getKey().equals("requiredDuringSchedulingIgnoredDuringExecution")) {
        return false;
      }
      for (JsonNode entry : e.getValue()) {
        JsonNode term = preferred ? entry.path("podAffinityTerm") : entry;
        if (!"kubernetes.io/hostname".equals(term.path("topologyKey").asText())) {
          return false;
        }
        try {
          LabelSelector sel = Json.mapper().treeToValue(term.path("labelSelector"), LabelSelector.class);
          // not validated yet: an expression without an operator (or none at all) is not the
          // DaemonSet's own pods, and is left to the schema check's refusal rather than matched
          if (sel == null || (sel.matchExpressions() != null
              && sel.matchExpressions().stream().anyMatch(r -> r == null || r.operator() == null))
              || !LabelSelectors.matches(sel, labels)) {
            return false;
          }
        } catch (JsonProcessingException | IllegalArgumentException ex) {
          return false;
        }
      }
    }
    return true;
  }

  /** stringData is merged into data (base64), values from stringData winning, as Kubernetes does. */
  private static void foldStringData(ObjectNode secret) {
    Defaults.unset(secret, "type", secret.textNode("Opaque")); // "" too, as Kubernetes' SetDefaults_Secret
    if (secret.get("stringData") instanceof ObjectNode sd) {
      ObjectNode data = secret.get("data") instanceof ObjectNode d ? d : secret.putObject("data");
      sd.fields().forEachRemaining(e -> data.put(e.getKey(),
          Base64.getEncoder().encodeToString(e.getValue().asText().getBytes(StandardCharsets.UTF_8))));
      secret.remove("stringData");
    }
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
