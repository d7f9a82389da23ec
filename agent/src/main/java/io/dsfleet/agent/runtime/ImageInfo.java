package io.dsfleet.agent.runtime;

import java.util.Map;

/**
 * A local image, as the runtime describes it.
 *
 * @param user the user it runs as by default ("" for root), for runAsNonRoot
 */
public record ImageInfo(String id, String user, Map<String, String> labels) {
  /** Whether the image carries the agent's ownership labels (which would make its containers look like the agent's). */
  public boolean hasOwnershipLabels() {
    return labels.keySet().stream().anyMatch(k -> k.startsWith(Labels.PREFIX));
  }
}
