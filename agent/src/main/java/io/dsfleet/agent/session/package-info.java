/** The agent's one long-lived session with the coordinator. */
package io.dsfleet.agent.session;
