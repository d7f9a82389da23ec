package io.dsfleet.coordinator.kubeapi;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.dsfleet.common.Json;
import java.io.IOException;
import java.util.Base64;

/**
 * The Kubernetes protobuf bodies kubectl's typed commands send (`kubectl create configmap`,
 * `kubectl create secret`), read into the JSON the API takes: the "k8s\0" envelope (a
 * runtime.Unknown: its TypeMeta and the object's bytes), and of the object what a ConfigMap or a
 * Secret has (metadata name, namespace, labels, annotations; data, binaryData, stringData, type,
 * immutable); and the reviews {@code kubectl auth} sends ({@link KubeReviews}). Other kinds are
 * refused: kubectl sends them as JSON when it applies them.
 */
final class KubeProtobuf {
  private KubeProtobuf() {}

  private static final byte[] MAGIC = {'k', '8', 's', 0};

  static ObjectNode read(byte[] body) {
    for (int i = 0; i < MAGIC.length; i++) {
      if (body.length < MAGIC.length || body[i] != MAGIC[i]) {
        throw KubeWrites.KubeError.of(400, "BadRequest", "a protobuf body starts with the Kubernetes envelope (k8s\\0)");
      }
    }
    try {
      CodedInputStream in = CodedInputStream.newInstance(body, MAGIC.length, body.length - MAGIC.length);
      String apiVersion = "";
      String kind = "";
      ByteString raw = ByteString.EMPTY;
      for (int tag; (tag = in.readTag()) != 0; ) {
        switch (WireFormat.getTagFieldNumber(tag)) {
          case 1 -> {
            CodedInputStream typeMeta = in.readBytes().newCodedInput();
            for (int t; (t = typeMeta.readTag()) != 0; ) {
              switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> apiVersion = typeMeta.readString();
                case 2 -> kind = typeMeta.readString();
                default -> typeMeta.skipField(t);
              }
            }
          }
          case 2 -> raw = in.readBytes();
          default -> in.skipField(tag);
        }
      }
      if ((apiVersion.equals("authorization.k8s.io/v1") && kind.matches("SelfSubject(Access|Rules)Review"))
          || (apiVersion.equals("authentication.k8s.io/v1") && kind.equals("SelfSubjectReview"))) {
        return KubeReviews.fromProtobuf(apiVersion, kind, raw); // kubectl auth can-i, whoami
      }
      if (!apiVersion.equals("v1") || !(kind.equals("ConfigMap") || kind.equals("Secret"))) {
        throw KubeWrites.KubeError.of(415, "UnsupportedMediaType", "the dsfleet coordinator reads protobuf bodies of v1 ConfigMaps and"
            + " Secrets (and of the reviews kubectl auth sends) only, not " + apiVersion + " " + kind + ": send JSON or YAML (kubectl"
            + " apply -f)");
      }
      ObjectNode o = Json.mapper().createObjectNode().put("apiVersion", apiVersion).put("kind", kind);
      boolean secret = kind.equals("Secret");
      CodedInputStream object = raw.newCodedInput();
      for (int tag; (tag = object.readTag()) != 0; ) {
        int field = WireFormat.getTagFieldNumber(tag);
        if (field == 1) {
          metadata(object.readBytes(), o.putObject("metadata"));
        } else if (field == 2) {
          entry(object.readBytes(), o.with("data"), secret);
        } else if (field == 3 && !secret) {
          entry(object.readBytes(), o.with("binaryData"), true);
        } else if (field == 3) {
          String type = object.readString();
          if (!type.isEmpty()) {
            o.put("type", type);
          }
        } else if (field == 4 && secret) {
          entry(object.readBytes(), o.with("stringData"), false);
        } else if ((field == 4 && !secret) || (field == 5 && secret)) {
          o.put("immutable", object.readBool());
        } else {
          object.skipField(tag);
        }
      }
      return o;
    } catch (IOException e) {
      throw KubeWrites.KubeError.of(400, "BadRequest", "the protobuf body cannot be read: " + e.getMessage());
    }
  }

  /** ObjectMeta: name (1), generateName (2), namespace (3), resourceVersion (6), labels (11), annotations (12). */
  private static void metadata(ByteString bytes, ObjectNode meta) throws IOException {
    CodedInputStream in = bytes.newCodedInput();
    for (int tag; (tag = in.readTag()) != 0; ) {
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> putNonEmpty(meta, "name", in.readString());
        case 2 -> putNonEmpty(meta, "generateName", in.readString());
        case 3 -> putNonEmpty(meta, "namespace", in.readString());
        case 6 -> putNonEmpty(meta, "resourceVersion", in.readString());
        case 11 -> entry(in.readBytes(), meta.with("labels"), false);
        case 12 -> entry(in.readBytes(), meta.with("annotations"), false);
        default -> in.skipField(tag);
      }
    }
  }

  private static void putNonEmpty(ObjectNode o, String field, String value) {
    if (!value.isEmpty()) {
      o.put(field, value);
    }
  }

  /** A map entry (key 1, value 2) into {@code map}; bytes values base64, as the JSON form has them. */
  private static void entry(ByteString bytes, ObjectNode map, boolean binary) throws IOException {
    CodedInputStream in = bytes.newCodedInput();
    String key = "";
    ByteString value = ByteString.EMPTY;
    for (int tag; (tag = in.readTag()) != 0; ) {
      switch (WireFormat.getTagFieldNumber(tag)) {
        case 1 -> key = in.readString();
        case 2 -> value = in.readBytes();
        default -> in.skipField(tag);
      }
    }
    map.put(key, binary ? Base64.getEncoder().encodeToString(value.toByteArray()) : value.toStringUtf8());
  }
}
