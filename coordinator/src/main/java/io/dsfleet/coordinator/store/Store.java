package io.dsfleet.coordinator.store;

import java.util.List;

/**
 * Durable coordinator state. Every method is one transaction: when it returns, the write is on
 * disk and survives kill -9. The coordinator keeps its working state in memory and writes here
 * before acknowledging a request, so an implementation over an external store (etcd) can back
 * several coordinators later.
 */
public interface Store extends AutoCloseable {
  /** A stored object as canonical JSON, with its version for optimistic concurrency. */
  record StoredObject(String kind, String namespace, String name, String json, long generation,
      long resourceVersion, long createdAtMillis) {}

  record StoredRevision(String namespace, String name, long revision, String hash, String templateJson,
      String changeCause, long createdAtMillis) {}

  /** A node's durable part: identity and the agent's info as JSON, the operator's labels/taints, cordon. */
  record StoredNode(String name, String infoJson, String adminLabelsJson, String adminTaintsJson,
      boolean unschedulable, long joinedAtMillis) {}

  List<StoredObject> objects();

  /** One object write, with (when non-null) a new revision and the revision numbers to prune. */
  record ObjectWrite(StoredObject object, StoredRevision newRevision, List<Long> pruneRevisions) {}

  /** Writes every object of one apply in one transaction: all or nothing. */
  void putObjects(List<ObjectWrite> writes);

  void deleteObject(String kind, String namespace, String name);

  /** A pod a node must stop managing and leave running (its DaemonSet was deleted with orphan). */
  record Orphan(String node, String pod) {}

  /** Deletes a DaemonSet and records its pods as orphans, in one transaction. */
  void deleteDaemonSetOrphaning(String namespace, String name, List<Orphan> orphans);

  List<Orphan> orphans();

  /** The node acknowledged these orphans. */
  void deleteOrphans(String node, List<String> pods);

  List<StoredRevision> revisions();

  List<StoredNode> nodes();

  void putNode(StoredNode node);

  void deleteNode(String name);

  /** Rollout progress of a DaemonSet, as JSON (null clears). */
  void putRollout(String namespace, String name, String json);

  java.util.Map<String, String> rollouts();

  /** A join token: only a hash of its secret is kept; 0 = not revoked. */
  record StoredToken(String id, String secretHash, String description, long createdMillis, long expiresMillis,
      long revokedMillis, int uses) {}

  void putToken(StoredToken token);

  List<StoredToken> tokens();

  /** A certificate the fleet CA issued (nodes, admins, viewers), kept until it expires so it can be revoked. */
  record IssuedCertificate(String serial, String name, String role, long notAfterMillis, long revokedMillis) {}

  void putCertificate(IssuedCertificate certificate);

  List<IssuedCertificate> certificates();

  void deleteCertificatesExpiredBefore(long millis);

  int schemaVersion();

  @Override
  void close();
}
