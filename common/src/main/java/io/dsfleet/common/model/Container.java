package io.dsfleet.common.model;

import java.util.List;

/** A container (or init container) of the pod. */
public record Container(String name, String image, String imagePullPolicy, List<String> command, List<String> args, String workingDir, List<ContainerPort> ports, List<EnvFromSource> envFrom, List<EnvVar> env, ResourceRequirements resources, List<VolumeMount> volumeMounts, Probe livenessProbe, Probe readinessProbe, Probe startupProbe, Lifecycle lifecycle, SecurityContext securityContext, Boolean stdin, Boolean tty) {}
