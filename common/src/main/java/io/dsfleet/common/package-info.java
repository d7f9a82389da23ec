/**
 * What every component shares: the domain model, manifest parsing with Kubernetes defaulting and
 * validation, placement predicates, the template hash and canonical JSON. No gRPC server code,
 * Docker or storage here.
 */
package io.dsfleet.common;
