/**
 * The container runtime behind the reconciler: {@link io.dsfleet.agent.runtime.ContainerRuntime},
 * implemented over Docker ({@link io.dsfleet.agent.runtime.DockerRuntime}) and in memory for tests
 * and simulation ({@link io.dsfleet.agent.runtime.FakeRuntime}).
 */
package io.dsfleet.agent.runtime;
