package io.dsfleet.common.model;

/** Container security settings. */
public record SecurityContext(Boolean privileged, Capabilities capabilities, Long runAsUser, Long runAsGroup, Boolean runAsNonRoot, Boolean readOnlyRootFilesystem, Boolean allowPrivilegeEscalation, SeccompProfile seccompProfile, SELinuxOptions seLinuxOptions) {}
