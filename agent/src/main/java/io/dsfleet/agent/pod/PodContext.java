package io.dsfleet.agent.pod;

import io.dsfleet.common.model.PodTemplateSpec;
import java.nio.file.Path;
import java.util.Map;

/**
 * One pod to render, with what the node knows around it.
 *
 * @param digest the SHA-256 (hex) of the template's JSON as sent ({@link io.dsfleet.agent.runtime.Labels#DIGEST})
 * @param configMaps ConfigMap data by name (this pod's namespace), as sent by the coordinator
 * @param secrets Secret data by name
 * @param secretTypes Secret type by name
 * @param podDir the pod's directory in the agent's state dir (volumes live here)
 */
public record PodContext(String node, String hostIp, String namespace, String daemonSet, String podName, String hash,
    String digest, PodTemplateSpec template, Map<String, Map<String, byte[]>> configMaps, Map<String, Map<String, byte[]>> secrets,
    Map<String, String> secretTypes, Path podDir) {}
