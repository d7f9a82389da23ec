/**
 * Domain records of the Kubernetes objects dsfleet accepts: DaemonSet, ConfigMap, Secret and the
 * supported PodSpec subset. Field names are Kubernetes' own, so the canonical JSON of a record is
 * the Kubernetes JSON of the object. Record components are also the schema the manifest parser
 * checks documents against: a field that is not a component is either known-ignorable (warning)
 * or unsupported (error).
 */
package io.dsfleet.common.model;
