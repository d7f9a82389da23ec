/**
 * The agent's reconciler: a pure per-pod decision ({@link io.dsfleet.agent.reconcile.PodActions})
 * over what the runtime shows, executed by pod workers; restart back-off and probe timing on an
 * injected clock.
 */
package io.dsfleet.agent.reconcile;
