package io.dsfleet.common.model;

import java.util.List;
import java.util.Map;

/** The supported PodSpec subset (docs/manifests.md lists it). */
public record PodSpec(List<Container> initContainers, List<Container> containers, List<Volume> volumes, String restartPolicy, Long terminationGracePeriodSeconds, Map<String, String> nodeSelector, Affinity affinity, List<Toleration> tolerations, Boolean hostNetwork, Boolean hostPID, Boolean hostIPC, PodSecurityContext securityContext, List<LocalObjectReference> imagePullSecrets) {}
