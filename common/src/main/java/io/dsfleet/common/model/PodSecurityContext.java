package io.dsfleet.common.model;

import java.util.List;

/** Pod-level security settings; user, group and seccomp are defaults for every container. */
public record PodSecurityContext(Long runAsUser, Long runAsGroup, Boolean runAsNonRoot, Long fsGroup, List<Long> supplementalGroups, SeccompProfile seccompProfile, SELinuxOptions seLinuxOptions) {}
