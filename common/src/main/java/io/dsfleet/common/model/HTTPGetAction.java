package io.dsfleet.common.model;

import java.util.List;

/** An HTTP GET against the pod. */
public record HTTPGetAction(String path, IntOrString port, String host, String scheme, List<HTTPHeader> httpHeaders) {}
