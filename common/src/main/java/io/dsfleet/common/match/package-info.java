/**
 * Pure placement predicates: label selectors, node selectors, required node affinity, taints and
 * tolerations, the DaemonSet's automatic tolerations, and the combined verdict of
 * {@link io.dsfleet.common.match.Placement}. Every "no" comes with a reason a user can read.
 */
package io.dsfleet.common.match;
