package io.dsfleet.agent.runtime;

/** The ownership labels every container the agent creates carries. The agent never touches a container without them. */
public final class Labels {
  public static final String MANAGED = "io.dsfleet.managed";
  public static final String NODE = "io.dsfleet.node";
  public static final String NAMESPACE = "io.dsfleet.namespace";
  public static final String DAEMON_SET = "io.dsfleet.daemonset";
  public static final String POD = "io.dsfleet.pod";
  public static final String CONTAINER = "io.dsfleet.container";
  public static final String HASH = "io.dsfleet.template-hash";
  public static final String RESTARTS = "io.dsfleet.restarts";
  /** "init" for init containers, "sandbox" for the pod's namespace holder, "app" otherwise. */
  public static final String ROLE = "io.dsfleet.role";

  public static final String SANDBOX = "sandbox";
  public static final String INIT = "init";
  public static final String APP = "app";

  private Labels() {}
}
