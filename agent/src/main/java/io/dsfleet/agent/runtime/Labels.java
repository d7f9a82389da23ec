package io.dsfleet.agent.runtime;

/**
 * The ownership labels every container the agent creates carries. The agent never touches a
 * container without them, and never trusts them unchecked ({@link OwnedContainer#of}).
 */
public final class Labels {
  public static final String PREFIX = "io.dsfleet.";
  public static final String MANAGED = "io.dsfleet.managed";
  public static final String NODE = "io.dsfleet.node";
  public static final String NAMESPACE = "io.dsfleet.namespace";
  public static final String DAEMON_SET = "io.dsfleet.daemonset";
  public static final String POD = "io.dsfleet.pod";
  public static final String CONTAINER = "io.dsfleet.container";
  public static final String HASH = "io.dsfleet.template-hash";
  /**
   * The SHA-256 (64 lowercase hex digits) of the template's JSON as the coordinator sent it: with
   * the hash (40 bits, which a template can be made to share), which template the container is of
   * ({@code DesiredPod#runs}). Absent on containers made before 2026-12-06: the hash alone says.
   */
  public static final String DIGEST = "io.dsfleet.template-digest";
  public static final String RESTARTS = "io.dsfleet.restarts";
  /** "init" for init containers, "sandbox" for the pod's namespace holder, "app" otherwise. */
  public static final String ROLE = "io.dsfleet.role";
  /** Which sandbox of the pod: the sandbox's own number, or the one a container joined. Absent: 0. */
  public static final String ATTEMPT = "io.dsfleet.sandbox-attempt";
  /**
   * Crashes in a row before this run: the restart back-off grows with it and starts over after a
   * run of 10 minutes (a run count alone cannot tell). Absent: the run number.
   */
  public static final String STREAK = "io.dsfleet.crash-streak";
  /** terminationGracePeriodSeconds of the pod, so a pod no longer desired stops as it would have. */
  public static final String GRACE = "io.dsfleet.grace-seconds";

  public static final String SANDBOX = "sandbox";
  public static final String INIT = "init";
  public static final String APP = "app";

  private Labels() {}
}
