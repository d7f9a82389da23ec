package io.dsfleet.coordinator.security;

import io.dsfleet.coordinator.store.Store.StoredToken;

/** A join token as {@link Authority#tokens} lists it: with whether it has expired by the coordinator's clocks. */
public record ListedToken(StoredToken token, boolean expired) {}
