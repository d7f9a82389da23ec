package io.dsfleet.coordinator.fleet;

import io.dsfleet.common.model.Taint;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.proto.v1.NodeInfo;
import io.grpc.Status;
import java.util.Map;
import java.util.TreeMap;

/**
 * A node's durable fields written before memory keeps them (the registry's and dsctl's changes,
 * {@link NodeRegistry} and {@link NodeSettings}): a refused write is undone in memory, so it
 * changes nothing; a write that went tells the lifecycle ({@link NodeLifecycle#written}).
 */
final class NodeWrites {
  private final Store store;
  private final NodeLifecycle lifecycle;

  NodeWrites(Store store, NodeLifecycle lifecycle) {
    this.store = store;
    this.lifecycle = lifecycle;
  }

  /**
   * Applies a change to a node's durable fields and writes them; when the write fails the change
   * is undone in memory too, so a refused request changes nothing.
   */
  void persist(NodeEntry n, Runnable change) {
    persist(n, e -> store.putNode(e.stored()), change);
  }

  /** {@code change} made to the node and written with {@code write}, or undone when the store refuses it. */
  void persist(NodeEntry n, java.util.function.Consumer<NodeEntry> write, Runnable change) {
    NodeInfo info = n.info;
    String leaveSecretSha256 = n.leaveSecretSha256;
    String admittedBy = n.admittedBy;
    Map<String, String> labels = new TreeMap<>(n.adminLabels);
    Map<String, Taint> taints = new TreeMap<>(n.adminTaints);
    boolean unschedulable = n.unschedulable;
    boolean readmitsBySecret = n.readmitsBySecret;
    change.run();
    try {
      write.accept(n);
    } catch (RuntimeException e) {
      n.info = info;
      n.leaveSecretSha256 = leaveSecretSha256;
      n.admittedBy = admittedBy;
      n.adminLabels.clear();
      n.adminLabels.putAll(labels);
      n.adminTaints.clear();
      n.adminTaints.putAll(taints);
      n.unschedulable = unschedulable;
      n.readmitsBySecret = readmitsBySecret;
      throw new ControlException(Status.Code.UNAVAILABLE, (e instanceof io.dsfleet.coordinator.store.StoreException se
          ? se.outcome("nothing changed") : "the store refused the write, nothing changed") + ": " + e.getMessage(),
          e instanceof io.dsfleet.coordinator.store.StoreException se2 && !se2.mayHaveApplied());
    }
    n.unschedulableStored = n.unschedulable;
    lifecycle.written(n.name);
  }
}
