/** From a desired pod to runtime terms: container specs, resolved env, volumes on disk. */
package io.dsfleet.agent.pod;
