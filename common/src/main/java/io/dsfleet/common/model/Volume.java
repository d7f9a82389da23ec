package io.dsfleet.common.model;

/** A pod volume: exactly one source. */
public record Volume(String name, HostPathVolumeSource hostPath, EmptyDirVolumeSource emptyDir, ConfigMapVolumeSource configMap, SecretVolumeSource secret, DownwardAPIVolumeSource downwardAPI, ProjectedVolumeSource projected) {}
