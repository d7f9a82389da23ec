package io.dsfleet.common.model;

import java.util.List;

/** A Secret's keys as files. */
public record SecretVolumeSource(String secretName, List<KeyToPath> items, Integer defaultMode, Boolean optional) {}
