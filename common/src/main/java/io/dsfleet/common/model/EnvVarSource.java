package io.dsfleet.common.model;

/** Where an environment variable's value comes from: exactly one of these. */
public record EnvVarSource(ObjectFieldSelector fieldRef, KeySelector configMapKeyRef, KeySelector secretKeyRef) {}
