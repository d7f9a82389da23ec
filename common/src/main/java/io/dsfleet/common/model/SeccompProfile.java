package io.dsfleet.common.model;

/** RuntimeDefault, Unconfined or Localhost (with localhostProfile). */
public record SeccompProfile(String type, String localhostProfile) {}
