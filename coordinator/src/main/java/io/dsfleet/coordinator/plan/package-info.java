/**
 * The planner: a pure function of (DaemonSets, nodes, observed pods, now) to every node's desired
 * pods, the placement verdict (with its reason) per node, and the DaemonSet status counters.
 * Imports no gRPC, storage or Docker.
 */
package io.dsfleet.coordinator.plan;
