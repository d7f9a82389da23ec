package io.dsfleet.coordinator.kubeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.dsfleet.common.Json;
import org.junit.jupiter.api.Test;

/** The three patch formats, against what Kubernetes does with the same patch. */
class PatchesTest {
  static ObjectNode json(String text) {
    return (ObjectNode) Json.read(text.replace('\'', '"'), JsonNode.class);
  }

  static final ObjectNode DS = json("{'metadata':{'name':'a','labels':{'app':'a','tier':'x'}},'spec':{'template':{'spec':{"
      + "'containers':[{'name':'main','image':'i:1','env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],'args':['x','y']},"
      + "{'name':'side','image':'s:1'}],'tolerations':[{'key':'k1'}],"
      + "'volumes':[{'name':'v','hostPath':{'path':'/var'}}]}}}}");

  @Test
  void strategicMergeMergesKeyedListsAndReplacesTheRest() {
    ObjectNode out = Patches.strategicMerge(DS, json("{'spec':{'template':{'spec':{'containers':[{'name':'main','image':'i:2',"
        + "'env':[{'name':'C','value':'3'}],'args':['z']}],'tolerations':[{'key':'k2'}]}}}}"));
    JsonNode main = out.at("/spec/template/spec/containers/0");
    assertThat(main.path("image").asText()).isEqualTo("i:2");
    assertThat(main.path("env")).as("env merges by name").hasSize(3);
    assertThat(main.path("args").toString()).as("args is replaced").isEqualTo("[\"z\"]");
    assertThat(out.at("/spec/template/spec/containers")).as("the other container stays").hasSize(2);
    assertThat(out.at("/spec/template/spec/tolerations").toString()).as("tolerations have no merge key: replaced")
        .isEqualTo("[{\"key\":\"k2\"}]");
    assertThat(DS.at("/spec/template/spec/containers/0/image").asText()).as("the original is not changed").isEqualTo("i:1");
  }

  @Test
  void aListWithTwoElementsOfOneKeyIsReplacedNotFolded() {
    ObjectNode ports = json("{'ports':[{'containerPort':7946,'protocol':'TCP'}]}");
    ObjectNode out = Patches.strategicMerge(ports, json("{'ports':[{'containerPort':7946,'protocol':'TCP','name':'t'},"
        + "{'containerPort':7946,'protocol':'UDP','name':'u'}]}"));
    assertThat(out.path("ports")).hasSize(2);
  }

  @Test
  void strategicMergeDirectives() {
    ObjectNode deleted = Patches.strategicMerge(DS, json("{'spec':{'template':{'spec':{'containers':[{'name':'side','$patch':'delete'}],"
        + "'$setElementOrder/containers':[{'name':'main'}]}}},'metadata':{'labels':{'tier':null}}}"));
    assertThat(deleted.at("/spec/template/spec/containers")).hasSize(1);
    assertThat(deleted.at("/metadata/labels").toString()).as("null removes a key").isEqualTo("{\"app\":\"a\"}");

    // rollout undo's patch: the template replaced whole
    ObjectNode replaced = Patches.strategicMerge(DS, json("{'spec':{'template':{'$patch':'replace','spec':{'containers':[{'name':'n',"
        + "'image':'n:1'}]}}}}"));
    assertThat(replaced.at("/spec/template").toString()).isEqualTo("{\"spec\":{\"containers\":[{\"name\":\"n\",\"image\":\"n:1\"}]}}");

    // a volume's source changing kind: $retainKeys drops the old one
    ObjectNode retained = Patches.strategicMerge(DS, json("{'spec':{'template':{'spec':{'volumes':[{'name':'v','emptyDir':{},"
        + "'$retainKeys':['emptyDir','name']}]}}}}"));
    assertThat(retained.at("/spec/template/spec/volumes/0").toString()).isEqualTo("{\"name\":\"v\",\"emptyDir\":{}}");

    ObjectNode order = Patches.strategicMerge(DS, json("{'spec':{'template':{'spec':{'$setElementOrder/containers':[{'name':'side'},"
        + "{'name':'main'}]}}}}"));
    assertThat(order.at("/spec/template/spec/containers/0/name").asText()).isEqualTo("side");

    assertThatThrownBy(() -> Patches.strategicMerge(DS, json("{'spec':{'$patch':'explode'}}"))).hasMessageContaining("explode");
    assertThatThrownBy(() -> Patches.strategicMerge(DS, json("{'spec':{'template':{'spec':{'containers':[{'image':'x'}]}}}}")))
        .hasMessageContaining("has no name");
  }

  @Test
  void mergePatchIsRfc7386() {
    JsonNode out = Patches.mergePatch(DS, json("{'metadata':{'labels':{'tier':null,'new':'y'}},'spec':{'template':{'spec':{"
        + "'containers':[{'name':'only'}]}}}}"));
    assertThat(out.at("/metadata/labels").toString()).isEqualTo("{\"app\":\"a\",\"new\":\"y\"}");
    assertThat(out.at("/spec/template/spec/containers")).as("lists are replaced").hasSize(1);
    assertThat(out.at("/spec/template/spec/volumes")).hasSize(1);
  }

  @Test
  void jsonPatchIsRfc6902() {
    JsonNode patch = Json.read("[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"a\"},"
        + "{\"op\":\"add\",\"path\":\"/spec/template/spec/containers/0/args/-\",\"value\":\"w\"},"
        + "{\"op\":\"remove\",\"path\":\"/metadata/labels/tier\"},"
        + "{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/1/image\",\"value\":\"s:2\"},"
        + "{\"op\":\"copy\",\"from\":\"/metadata/labels/app\",\"path\":\"/metadata/labels/copy\"},"
        + "{\"op\":\"move\",\"from\":\"/metadata/labels/copy\",\"path\":\"/metadata/labels/a~1b\"}]", JsonNode.class);
    JsonNode out = Patches.jsonPatch(DS, patch);
    assertThat(out.at("/spec/template/spec/containers/0/args").toString()).isEqualTo("[\"x\",\"y\",\"w\"]");
    assertThat(out.at("/metadata/labels").toString()).isEqualTo("{\"app\":\"a\",\"a/b\":\"a\"}");
    assertThat(out.at("/spec/template/spec/containers/1/image").asText()).isEqualTo("s:2");

    assertThatThrownBy(() -> Patches.jsonPatch(DS, Json.read("[{\"op\":\"test\",\"path\":\"/metadata/name\",\"value\":\"b\"}]",
        JsonNode.class))).hasMessageContaining("test failed");
    assertThatThrownBy(() -> Patches.jsonPatch(DS, Json.read("[{\"op\":\"replace\",\"path\":\"/nope/x\",\"value\":1}]", JsonNode.class)))
        .hasMessageContaining("nothing at /nope/x");
    assertThatThrownBy(() -> Patches.jsonPatch(DS, Json.read("[{\"op\":\"remove\",\"path\":\"/spec/template/spec/containers/9\"}]",
        JsonNode.class))).hasMessageContaining("out of range");
  }
}
