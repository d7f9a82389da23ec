/** Kubernetes manifests in: YAML parsing, schema check, defaults, validation with field paths. */
package io.dsfleet.common.manifest;
