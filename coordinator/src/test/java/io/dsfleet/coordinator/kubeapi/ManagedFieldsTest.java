package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Field ownership as server-side apply keeps it. */
class ManagedFieldsTest {
  static ObjectNode json(String text) {
    return PatchesTest.json(text);
  }

  static final ObjectNode CONFIG = json("{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'a','labels':{'app':'a'}},"
      + "'spec':{'template':{'spec':{'containers':[{'name':'main','image':'i:1','args':['x']}]}}}}");

  @Test
  void theFieldsOfAnObjectAreItsLeavesAndKeyedElements() {
    assertThat(ManagedFields.fieldsOf(CONFIG).stream().map(ManagedFields::print).toList()).containsExactly(".metadata.labels.app",
        ".spec.template.spec.containers[name=\"main\"]", ".spec.template.spec.containers[name=\"main\"].name",
        ".spec.template.spec.containers[name=\"main\"].image", ".spec.template.spec.containers[name=\"main\"].args");
  }

  @Test
  void aListWithTwoElementsOfOneKeyIsOneField() {
    ObjectNode twoPorts = json("{'spec':{'containers':[{'name':'m','ports':[{'containerPort':7946,'protocol':'TCP'},"
        + "{'containerPort':7946,'protocol':'UDP'}]}]}}");
    assertThat(ManagedFields.fieldsOf(twoPorts).stream().map(ManagedFields::print)).contains(".spec.containers[name=\"m\"].ports")
        .noneMatch(f -> f.contains("containerPort=7946"));
  }

  @Test
  void entriesSurviveTheirStoredForm() {
    List<ManagedFields.Entry> entries = List.of(new ManagedFields.Entry("kubectl", "Apply", "apps/v1", "t",
        ManagedFields.fieldsOf(CONFIG)));
    ObjectNode stored = CONFIG.deepCopy();
    ManagedFields.keep(stored, entries);
    assertThat(ManagedFields.of(stored)).isEqualTo(entries);
    ManagedFields.show(stored);
    assertThat(stored.path("metadata").has("managedFields")).isTrue();
    assertThat(stored.at("/metadata/annotations").isMissingNode()).as("the annotation is not shown").isTrue();
    assertThat(ManagedFields.of(stored)).as("read back from what the API shows").isEqualTo(entries);
  }

  @Test
  void applyConflictsWithAnotherManagersValueUnlessForcedAndDropsWhatItNoLongerSets() {
    ObjectNode live = CONFIG.deepCopy();
    ((ObjectNode) live.at("/spec/template/spec/containers/0")).put("image", "i:9");
    List<ManagedFields.Entry> entries = List.of(
        new ManagedFields.Entry("kubectl", "Apply", "apps/v1", "t", ManagedFields.fieldsOf(CONFIG)),
        new ManagedFields.Entry("kubectl-set", "Update", "apps/v1", "t",
            java.util.Set.of(List.of("f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"main\"}", "f:image"))));
    ObjectNode next = CONFIG.deepCopy();
    ((ObjectNode) next.at("/spec/template/spec/containers/0")).put("image", "i:2").remove("args");
    List<ManagedFields.Conflict> conflicts = new ArrayList<>();
    assertThat(ManagedFields.apply(live, entries, next, "kubectl", "apps/v1", "t2", false, conflicts)).isNull();
    assertThat(conflicts).singleElement().satisfies(c -> {
      assertThat(c.manager()).isEqualTo("kubectl-set");
      assertThat(ManagedFields.print(c.field())).isEqualTo(".spec.template.spec.containers[name=\"main\"].image");
    });

    conflicts.clear();
    ManagedFields.Applied forced = ManagedFields.apply(live, entries, next, "kubectl", "apps/v1", "t2", true, conflicts);
    assertThat(forced.object().at("/spec/template/spec/containers/0/image").asText()).isEqualTo("i:2");
    assertThat(forced.object().at("/spec/template/spec/containers/0").has("args")).as("no longer applied, owned by nobody else").isFalse();
    assertThat(forced.entries()).filteredOn(e -> e.manager().equals("kubectl-set")).singleElement()
        .satisfies(e -> assertThat(e.fields()).isEmpty());

    // the same value another manager set is shared, not a conflict
    ObjectNode same = CONFIG.deepCopy();
    ((ObjectNode) same.at("/spec/template/spec/containers/0")).put("image", "i:9");
    conflicts.clear();
    assertThat(ManagedFields.apply(live, entries, same, "kubectl", "apps/v1", "t2", false, conflicts)).isNotNull();
    assertThat(conflicts).isEmpty();
  }

  @Test
  void anUpdateOwnsWhatItChangedAndTakesItFromTheOthers() {
    List<ManagedFields.Entry> entries = List.of(new ManagedFields.Entry("kubectl", "Apply", "apps/v1", "t", ManagedFields.fieldsOf(CONFIG)));
    ObjectNode after = CONFIG.deepCopy();
    ((ObjectNode) after.at("/metadata/labels")).put("team", "x");
    ((ObjectNode) after.at("/spec/template/spec/containers/0")).put("image", "i:5");
    List<ManagedFields.Entry> out = ManagedFields.updated(CONFIG, after, entries, "kubectl-label", "apps/v1", "t2");
    assertThat(out).filteredOn(e -> e.manager().equals("kubectl-label")).singleElement()
        .satisfies(e -> assertThat(e.fields().stream().map(ManagedFields::print)).containsExactlyInAnyOrder(".metadata.labels.team",
            ".spec.template.spec.containers[name=\"main\"].image"));
    assertThat(out).filteredOn(e -> e.manager().equals("kubectl")).singleElement()
        .satisfies(e -> assertThat(e.fields().stream().map(ManagedFields::print)).doesNotContain(
            ".spec.template.spec.containers[name=\"main\"].image").contains(".metadata.labels.app"));
  }

  @Test
  void whatNobodyOwnsStaysWhenAManagerStopsApplyingItsFieldsBesideIt() {
    // data.b came from dsctl (nobody's); the manager set data.a and data.c, then applies only a label
    ObjectNode live = json("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c'},'data':{'a':'1','b':'2','c':'3'}}");
    List<ManagedFields.Entry> entries = List.of(new ManagedFields.Entry("m", "Apply", "v1", "t",
        java.util.Set.of(List.of("f:data", "f:a"), List.of("f:data", "f:c"))));
    ObjectNode labelsOnly = json("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'c','labels':{'x':'y'}}}");
    ManagedFields.Applied out = ManagedFields.apply(live, entries, labelsOnly, "m", "v1", "t2", false, new ArrayList<>());
    assertThat(out.object().path("data").toString()).isEqualTo("{\"b\":\"2\"}");
  }

  @Test
  void aStructTheManagersApplyBroughtGoesWholeWithItsDefaultsOneThatWasThereStays() {
    ObjectNode withProbe = json("{'spec':{'template':{'spec':{'containers':[{'name':'m','image':'i',"
        + "'readinessProbe':{'httpGet':{'port':80}}}]}}}}");
    ManagedFields.Applied created = ManagedFields.apply(null, List.of(), withProbe, "m", "apps/v1", "t", false, new ArrayList<>());
    // what the coordinator stores: the probe with its defaults
    ObjectNode stored = created.object().deepCopy();
    ((ObjectNode) stored.at("/spec/template/spec/containers/0/readinessProbe")).put("timeoutSeconds", 1);
    ((ObjectNode) stored.at("/spec/template/spec/containers/0/readinessProbe/httpGet")).put("path", "/");
    ObjectNode without = json("{'spec':{'template':{'spec':{'containers':[{'name':'m','image':'i'}]}}}}");
    ManagedFields.Applied dropped = ManagedFields.apply(stored, created.entries(), without, "m", "apps/v1", "t2", false,
        new ArrayList<>());
    assertThat(dropped.object().at("/spec/template/spec/containers/0").has("readinessProbe")).isFalse();

    // a template annotation applied onto a DaemonSet dsctl made, then no longer: only the annotation goes
    ObjectNode made = json("{'spec':{'selector':{'matchLabels':{'a':'b'}},'template':{'metadata':{'labels':{'a':'b'}},"
        + "'spec':{'containers':[{'name':'m','image':'i'}]}}}}");
    ObjectNode note = json("{'spec':{'template':{'metadata':{'annotations':{'note':'x'}}}}}");
    ManagedFields.Applied noted = ManagedFields.apply(made, List.of(), note, "m", "apps/v1", "t", false, new ArrayList<>());
    ManagedFields.Applied after = ManagedFields.apply(noted.object(), noted.entries(), json("{'spec':{}}"), "m", "apps/v1", "t2",
        false, new ArrayList<>());
    assertThat(after.object().at("/spec/template/metadata").toString()).isEqualTo("{\"labels\":{\"a\":\"b\"}}");
    assertThat(after.object().at("/spec/selector").isMissingNode()).isFalse();
  }

  @Test
  void anAnnotationWrittenByHandIsNobodysFieldsNotAnError() {
    for (String kept : List.of("not json {", "[{\"manager\":\"x\",\"fieldsV1\":{\"/a\":{}}}]",
        "[{\"manager\":\"x\",\"fieldsV1\":{\"f:spec\":{\"k:{}\":{}}}}]")) {
      ObjectNode o = json("{'metadata':{'name':'c'}}");
      ((ObjectNode) o.get("metadata")).putObject("annotations").put(ManagedFields.ANNOTATION, kept);
      assertThat(ManagedFields.of(o)).as(kept).isEmpty();
      ManagedFields.show(o);
      assertThat(o.at("/metadata/managedFields")).as(kept).isEmpty();
    }
  }
}
