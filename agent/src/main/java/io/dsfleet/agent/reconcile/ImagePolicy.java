package io.dsfleet.agent.reconcile;

import static io.dsfleet.agent.reconcile.Executor.message;

import io.dsfleet.agent.pod.PodConfigError;
import io.dsfleet.agent.runtime.ContainerRuntime;
import io.dsfleet.agent.runtime.ImageInfo;
import io.dsfleet.agent.runtime.RuntimeUnavailableException;
import io.dsfleet.common.model.Container;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The image a container of a pod runs ({@link Executor}'s): pulled as its policy says, and refused
 * ({@link PodConfigError}, with the reason a pod's status shows) when the agent would not run it.
 */
final class ImagePolicy {
  // its lines under the Executor's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(Executor.class);

  private final ContainerRuntime runtime;

  ImagePolicy(ContainerRuntime runtime) {
    this.runtime = runtime;
  }

  /**
   * The image, pulled as its policy says; refused when it carries the agent's ownership labels, or
   * more than the node's container lists can carry ({@code listsPorts}: whether its container will
   * list the ports the image exposes, {@link ImageInfo#portAndVolumeBytes}).
   */
  ImageInfo get(DesiredPod pod, Container c, boolean listsPorts) {
    String policy = c.imagePullPolicy() == null ? "IfNotPresent" : c.imagePullPolicy();
    var present = runtime.inspectImage(c.image());
    if (policy.equals("Never") && present.isEmpty()) {
      throw new PodConfigError("ErrImageNeverPull", "image " + c.image() + " is not present and imagePullPolicy is Never");
    }
    boolean pulled = policy.equals("Always") || present.isEmpty();
    if (pulled) {
      try {
        runtime.pull(c.image(), PullSecrets.auth(pod.ctx(), pod.template().spec(), c.image()));
      } catch (RuntimeUnavailableException e) {
        throw e;
      } catch (RuntimeException e) {
        if (present.isEmpty()) {
          throw new PodConfigError("ErrImagePull", "pulling " + c.image() + ": " + message(e));
        }
        log.warn("pod {}: pull of {} failed, using the local image: {}", pod.key(), c.image(), message(e));
      }
    }
    // looked at again only after a pull (which may have moved the tag): one inspect for an image already here
    ImageInfo image = (pulled ? runtime.inspectImage(c.image()) : present)
        .orElseThrow(() -> new PodConfigError("ErrImagePull", "image " + c.image() + " is not present after its pull"));
    if (image.labelBytes() > ImageInfo.MAX_LABEL_BYTES) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " carries " + image.labelBytes() + " bytes of labels; the"
          + " agent runs images with at most " + ImageInfo.MAX_LABEL_BYTES + " (each list and event of its containers carries them all)");
    }
    if (image.settingsBytes() > ImageInfo.MAX_SETTINGS_BYTES) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " carries " + image.settingsBytes() + " bytes of"
          + " environment, command, entrypoint, health check, working directory and user; the agent runs images with at most "
          + ImageInfo.MAX_SETTINGS_BYTES
          + " (each inspect of its containers carries them all)");
    }
    long command = image.inheritedCommandBytes(c.command() != null && !c.command().isEmpty(), c.args() != null && !c.args().isEmpty());
    if (command > ImageInfo.MAX_COMMAND_BYTES) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " carries " + command + " bytes of command and entrypoint"
          + " the container would take over; the agent runs images with at most " + ImageInfo.MAX_COMMAND_BYTES
          + " (each list of the node's containers carries every container's command line; give the container a command of its own)");
    }
    long listed = image.portAndVolumeBytes(listsPorts);
    if (listed > ImageInfo.MAX_PORTS_AND_VOLUMES_BYTES) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " exposes " + image.exposedPorts() + " ports and declares "
          + "volumes of " + image.volumeBytes() + " bytes, about " + listed + " bytes in every list line of its containers"
          + (listsPorts ? " off the host's network" : "") + "; the agent runs images with at most " + ImageInfo.MAX_PORTS_AND_VOLUMES_BYTES
          + (listsPorts ? " (on the host's network, or in a pod of more than one container, its container lists no ports)" : ""));
    }
    if (image.hasOwnershipLabels()) {
      throw new PodConfigError("CreateContainerError", "image " + c.image() + " carries dsfleet's ownership labels (io.dsfleet.*): its"
          + " containers would pass for the agent's own, so the agent refuses to run it");
    }
    return image;
  }
}
