package io.dsfleet.coordinator.kubeapi;

import java.util.List;

/**
 * A resource path: /api/v1/... (group "") or /apis/apps/v1/...; then namespaces/NS/ for a
 * namespaced resource, the resource, an object's name, a subresource.
 */
record Target(String group, String resource, String namespace, String name, String sub) {
  static Target parse(List<String> p) {
    int at;
    String group;
    if (p.size() >= 3 && p.get(0).equals("api") && p.get(1).equals("v1")) {
      group = "";
      at = 2;
    } else if (p.size() >= 4 && p.get(0).equals("apis") && p.get(1).equals("apps") && p.get(2).equals("v1")) {
      group = "apps";
      at = 3;
    } else {
      return null;
    }
    List<String> rest = p.subList(at, p.size());
    String namespace = null;
    if (rest.get(0).equals("namespaces") && rest.size() >= 3) {
      namespace = rest.get(1);
      rest = rest.subList(2, rest.size());
    }
    if (rest.size() > 3) {
      return null;
    }
    return new Target(group, rest.get(0), namespace, rest.size() > 1 ? rest.get(1) : null, rest.size() > 2 ? rest.get(2) : null);
  }
}
