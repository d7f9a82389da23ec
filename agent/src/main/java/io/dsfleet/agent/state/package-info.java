/** The agent's durable local state: what it must remember across coordinator outages and its own restarts. */
package io.dsfleet.agent.state;
