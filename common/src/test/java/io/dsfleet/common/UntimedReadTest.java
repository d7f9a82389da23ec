package io.dsfleet.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.dsfleet.common.model.PodTemplateSpec;
import io.dsfleet.common.model.Taint;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Json.readUntimed, the canonical configuration without java.time's module, which the agent reads
 * its templates with: it reads a template as Json.read does, and a type holding a java.time value is
 * refused by name, never read another way.
 */
class UntimedReadTest {
  @Test
  void aPodTemplateHoldsNoJavaTimeValueAnywhere() {
    Set<Class<?>> seen = new HashSet<>();
    walk(PodTemplateSpec.class, seen);
    assertThat(seen).as("the types a template holds").hasSizeGreaterThan(20)
        .noneMatch(c -> c.getName().startsWith("java.time."));
  }

  @Test
  void aTemplateReadsAsTheCanonicalMapperReadsIt() {
    String json = """
        {"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"i","command":["sh"],
        "readinessProbe":{"httpGet":{"path":"/","port":8080},"periodSeconds":1}}],"tolerations":[{"operator":"Exists"}]}}""";
    PodTemplateSpec untimed = Json.readUntimed(json, PodTemplateSpec.class);
    assertThat(untimed).isEqualTo(Json.read(json, PodTemplateSpec.class));
    assertThat(Json.canonical(untimed)).isEqualTo(Json.canonical(Json.read(json, PodTemplateSpec.class)));
    assertThatThrownBy(() -> Json.readUntimed("{\"spec\":{\"bogus\":1}}", PodTemplateSpec.class))
        .as("the same configuration: unknown fields refused").hasMessageContaining("bogus");
  }

  @Test
  void aTypeHoldingAJavaTimeValueIsRefusedByName() {
    String json = "{\"key\":\"k\",\"effect\":\"NoExecute\",\"timeAdded\":\"2026-12-07T01:00:00Z\"}";
    assertThat(Json.read(json, Taint.class).timeAdded()).isNotNull();
    assertThatThrownBy(() -> Json.readUntimed(json, Taint.class)).hasMessageContaining("java.time.Instant");
  }

  private static void walk(Type t, Set<Class<?>> seen) {
    if (t instanceof ParameterizedType p) {
      walk(p.getRawType(), seen);
      for (Type a : p.getActualTypeArguments()) {
        walk(a, seen);
      }
    } else if (t instanceof Class<?> c && seen.add(c) && c.isRecord()) {
      for (RecordComponent rc : c.getRecordComponents()) {
        walk(rc.getGenericType(), seen);
      }
    }
  }
}
