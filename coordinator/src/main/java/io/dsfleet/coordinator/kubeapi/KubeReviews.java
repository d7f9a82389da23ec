package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.dsfleet.common.Json;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a credential may do, asked as Kubernetes clients ask it: {@code kubectl auth can-i} (a
 * SelfSubjectAccessReview), {@code kubectl auth can-i --list} (a SelfSubjectRulesReview) and
 * {@code kubectl auth whoami} (a SelfSubjectReview). Answered from what the API serves (its
 * discovery documents' verbs) and the caller's role: an admin may do all of it, a viewer get, list
 * and watch everything but Secrets. Before 2026-12-06 each was a generic 404.
 */
final class KubeReviews {
  private KubeReviews() {}

  static final String ACCESS = "apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
  static final String RULES = "apis/authorization.k8s.io/v1/selfsubjectrulesreviews";
  static final String WHOAMI = "apis/authentication.k8s.io/v1/selfsubjectreviews";

  private static final Set<String> READS = Set.of("get", "list", "watch");
  /** The paths of no resource that are served: discovery, OpenAPI, the version (a GET each, to anyone). */
  private static final List<String> NON_RESOURCE = List.of("/api", "/api/*", "/apis", "/apis/*", "/openapi/v3", "/openapi/v3/*",
      "/version");

  /** Whether a request's path (its segments joined) is one of the reviews. */
  static boolean isReview(String path) {
    return path.equals(ACCESS) || path.equals(RULES) || path.equals(WHOAMI);
  }

  /** The review answered: the request's object with its status. */
  static ObjectNode answer(String path, KubeApi.Who who, JsonNode body) {
    ObjectNode review = body != null && body.isObject() ? ((ObjectNode) body).deepCopy() : Json.mapper().createObjectNode();
    String kind = switch (path) {
      case ACCESS -> "SelfSubjectAccessReview";
      case RULES -> "SelfSubjectRulesReview";
      default -> "SelfSubjectReview";
    };
    if (!review.path("kind").asText(kind).equals(kind)) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "the body is a " + review.path("kind").asText() + ", not a " + kind);
    }
    review.put("kind", kind).put("apiVersion", path.split("/")[1] + "/v1");
    review.remove("status");
    ObjectNode status = review.putObject("status");
    switch (kind) {
      case "SelfSubjectAccessReview" -> access(who, review.path("spec"), status);
      case "SelfSubjectRulesReview" -> rules(who, status);
      default -> {
        ObjectNode user = status.putObject("userInfo").put("username", who.name());
        user.putArray("groups").add(who.admin() ? io.dsfleet.common.tls.Pki.ADMINS : io.dsfleet.common.tls.Pki.VIEWERS)
            .add("system:authenticated");
      }
    }
    return review;
  }

  private static void access(KubeApi.Who who, JsonNode spec, ObjectNode status) {
    JsonNode r = spec.path("resourceAttributes");
    JsonNode n = spec.path("nonResourceAttributes");
    if (r.isObject() == n.isObject()) {
      throw KubeWrites.KubeError.of(422, "Invalid", "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec: Invalid"
          + " value: exactly one of nonResourceAttributes or resourceAttributes must be specified");
    }
    if (n.isObject()) {
      String path = n.path("path").asText();
      String verb = n.path("verb").asText();
      Target t = Target.parse(java.util.Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList());
      if (t != null) {
        // a resource's path (/api/v1/secrets): a GET of it is the resource's read, answered as such; it matched /api/*,
        // and a viewer was told yes for a GET of Secrets the API refuses
        if (!verb.equals("get")) {
          deny(status, "a resource's path is asked of as the resource (kubectl auth can-i VERB RESOURCE), a GET of it alone as a"
              + " path");
          return;
        }
        resource(who, t.name() == null ? "list" : "get", t.group(), t.resource() + (t.sub() == null ? "" : "/" + t.sub()), status);
        return;
      }
      boolean served = verb.equals("get") && NON_RESOURCE.stream().anyMatch(p -> p.endsWith("/*")
          ? path.startsWith(p.substring(0, p.length() - 1)) : path.equals(p));
      status.put("allowed", served);
      status.put("reason", served ? "served to every credential of the fleet" : "the dsfleet coordinator serves GET of "
          + String.join(", ", NON_RESOURCE) + " only");
      return;
    }
    String resource = r.path("resource").asText() + (r.path("subresource").asText().isEmpty() ? "" : "/" + r.path("subresource").asText());
    resource(who, r.path("verb").asText(), r.path("group").asText(), resource, status);
  }

  /** Whether {@code who} may {@code verb} the {@code resource} ("NAME" or "NAME/SUBRESOURCE") of {@code group}. */
  private static void resource(KubeApi.Who who, String verb, String group, String resource, ObjectNode status) {
    String named = resource + (group.isEmpty() ? "" : "." + group);
    if (verb.equals("create") && SELF_REVIEWS.contains(group + "/" + resource)) {
      status.put("allowed", true).put("reason", "every credential of the fleet asks what it may do and who it is");
      return;
    }
    List<String> verbs = KubeReads.served().get(group + "/" + resource);
    if (verbs == null) {
      deny(status, "the dsfleet coordinator does not serve " + named);
    } else if (!verbs.contains(verb)) {
      deny(status, "the dsfleet coordinator serves " + String.join(", ", verbs) + " of " + named + ", not " + verb);
    } else if (!who.admin() && (!READS.contains(verb) || resource.startsWith("secrets"))) {
      deny(status, resource.startsWith("secrets") ? "a viewer's credential does not read secrets (as Kubernetes' view role)"
          : "viewer credentials are read-only");
    } else {
      status.put("allowed", true).put("reason", who.admin() ? "an admin credential of the fleet" : "a viewer credential of the fleet"
          + " reads it");
    }
  }

  /**
   * The reviews themselves, which every credential creates (as Kubernetes' system:basic-user may):
   * before 2026-12-06 {@code can-i create selfsubjectaccessreviews} was told no, and {@code --list}
   * left them out.
   */
  private static final List<String> SELF_REVIEWS = List.of("authorization.k8s.io/selfsubjectaccessreviews",
      "authorization.k8s.io/selfsubjectrulesreviews", "authentication.k8s.io/selfsubjectreviews");

  private static void deny(ObjectNode status, String reason) {
    status.put("allowed", false).put("reason", reason);
  }

  /** Each served resource with the verbs the caller may use on it; the paths of no resource every caller may GET. */
  private static void rules(KubeApi.Who who, ObjectNode status) {
    ArrayNode resources = status.putArray("resourceRules");
    for (Map.Entry<String, List<String>> e : KubeReads.served().entrySet()) {
      String group = e.getKey().substring(0, e.getKey().indexOf('/'));
      String resource = e.getKey().substring(e.getKey().indexOf('/') + 1);
      List<String> verbs = who.admin() ? e.getValue() : resource.startsWith("secrets") ? List.of()
          : e.getValue().stream().filter(READS::contains).toList();
      if (!verbs.isEmpty()) {
        ObjectNode rule = resources.addObject();
        verbs.forEach(rule.putArray("verbs")::add);
        rule.putArray("apiGroups").add(group);
        rule.putArray("resources").add(resource);
      }
    }
    for (String review : SELF_REVIEWS) {
      ObjectNode rule = resources.addObject();
      rule.putArray("verbs").add("create");
      rule.putArray("apiGroups").add(review.substring(0, review.indexOf('/')));
      rule.putArray("resources").add(review.substring(review.indexOf('/') + 1));
    }
    ObjectNode urls = status.putArray("nonResourceRules").addObject();
    urls.putArray("verbs").add("get");
    NON_RESOURCE.forEach(urls.putArray("nonResourceURLs")::add);
    status.put("incomplete", false);
  }

  /**
   * A review's protobuf object (kubectl sends them so) read into its JSON form: a
   * SelfSubjectAccessReview's spec (resourceAttributes 1, nonResourceAttributes 2), a
   * SelfSubjectRulesReview's (namespace 1); a SelfSubjectReview has none.
   */
  static ObjectNode fromProtobuf(String apiVersion, String kind, ByteString raw) throws IOException {
    ObjectNode o = Json.mapper().createObjectNode().put("apiVersion", apiVersion).put("kind", kind);
    CodedInputStream in = raw.newCodedInput();
    for (int tag; (tag = in.readTag()) != 0; ) {
      if (WireFormat.getTagFieldNumber(tag) == 2 && !kind.equals("SelfSubjectReview")) {
        ObjectNode spec = o.putObject("spec");
        CodedInputStream s = in.readBytes().newCodedInput();
        for (int t; (t = s.readTag()) != 0; ) {
          int field = WireFormat.getTagFieldNumber(t);
          if (kind.equals("SelfSubjectRulesReview") && field == 1) {
            spec.put("namespace", s.readString());
          } else if (kind.equals("SelfSubjectAccessReview") && field == 1) {
            strings(s.readBytes(), spec.putObject("resourceAttributes"), "namespace", "verb", "group", "version", "resource",
                "subresource", "name");
          } else if (kind.equals("SelfSubjectAccessReview") && field == 2) {
            strings(s.readBytes(), spec.putObject("nonResourceAttributes"), "path", "verb");
          } else {
            s.skipField(t);
          }
        }
      } else {
        in.skipField(tag);
      }
    }
    return o;
  }

  /** A message's string fields 1, 2, ... as {@code names}; the rest (selectors) skipped. */
  private static void strings(ByteString bytes, ObjectNode into, String... names) throws IOException {
    CodedInputStream in = bytes.newCodedInput();
    for (int tag; (tag = in.readTag()) != 0; ) {
      int field = WireFormat.getTagFieldNumber(tag);
      if (field >= 1 && field <= names.length && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
        into.put(names[field - 1], in.readString());
      } else {
        in.skipField(tag);
      }
    }
  }
}
