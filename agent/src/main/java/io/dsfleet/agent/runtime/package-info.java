/**
 * The container runtime behind the agent: {@link io.dsfleet.agent.runtime.ContainerRuntime},
 * implemented over Docker ({@link io.dsfleet.agent.runtime.DockerRuntime}; an in-memory one lives
 * with the tests), and the ownership labels, checked before anything read back is used
 * ({@link io.dsfleet.agent.runtime.OwnedContainer}).
 */
package io.dsfleet.agent.runtime;
