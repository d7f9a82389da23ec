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

  /**
   * A node's durable part: identity and the agent's info as JSON, the operator's labels/taints,
   * cordon, and its condition ({@code stateJson}: NotReady since when, container runtime down since
   * when, labels and taints the operator removed from the agent's), so a restart keeps them.
   */
  record StoredNode(String name, String infoJson, String adminLabelsJson, String adminTaintsJson,
      boolean unschedulable, long joinedAtMillis, String stateJson) {}

  List<StoredObject> objects();

  /**
   * One object write, compare-and-set: it applies only when the object's stored resourceVersion
   * is {@code expectedResourceVersion} (0: the object must not exist; -1: whatever it is). The
   * store gives the object its new resourceVersion and a new revision its number (both ignored
   * here), prunes the listed revisions, and writes the DaemonSet's rollout state when
   * {@code rolloutJson} is set ("" deletes it): all in the transaction of the apply.
   */
  record ObjectWrite(StoredObject object, long expectedResourceVersion, StoredRevision newRevision, List<Long> pruneRevisions,
      String rolloutJson) {}

  /** What a batch of writes stored, in the order of the writes: objects with their resourceVersions, new revisions with their numbers (null when none). */
  record Written(List<StoredObject> objects, List<StoredRevision> revisions) {}

  /**
   * Writes every object of one apply in one transaction: all or nothing.
   *
   * @throws ConflictException when an object's resourceVersion is not the expected one (nothing written)
   */
  Written putObjects(List<ObjectWrite> writes);

  /** A compare-and-set write found another resourceVersion than it expected. */
  final class ConflictException extends StoreException {
    public ConflictException(String message) {
      super(message, null);
    }
  }

  void deleteObject(String kind, String namespace, String name);

  /** Removes old revisions of a DaemonSet (history pruning). */
  void pruneRevisions(String namespace, String name, List<Long> revisions);

  /** A pod a node must stop managing and leave running (its DaemonSet was deleted with orphan). */
  record Orphan(String node, String pod) {}

  /**
   * Deletes a DaemonSet and records its pods as orphans, in one transaction, with its revisions
   * except {@code keptRevisions}: those its released pods run, kept as orphaned revisions (rows of
   * no DaemonSet, as Kubernetes keeps a DaemonSet's ControllerRevisions on an orphan delete), which
   * a DaemonSet applied again under the name adopts into its history.
   */
  void deleteDaemonSetOrphaning(String namespace, String name, List<Orphan> orphans, List<Long> keptRevisions);

  List<Orphan> orphans();

  /** The pods released on one node (its rows only: read at a node's admission). */
  List<String> orphans(String node);

  /** The node acknowledged these orphans. */
  void deleteOrphans(String node, List<String> pods);

  List<StoredRevision> revisions();

  List<StoredNode> nodes();

  void putNode(StoredNode node);

  void deleteNode(String name);

  /** Writes several nodes in one transaction (the lifecycle's condition changes of one sweep). */
  void putNodes(List<StoredNode> nodes);

  /** A join token's count of uses with the admission that counted the last one. */
  record TokenUse(String tokenId, int uses) {}

  /**
   * A node admitted by join token and its token's count of uses, in one transaction: a crash
   * between the two would otherwise either burn a single-use token on a node never registered or
   * let it admit a second node. The count is only ever raised ({@code uses} or what is stored,
   * whichever is more), and nothing else of the token's row is written: a revocation written
   * while the join was on its way stays.
   */
  void admitNode(StoredNode node, TokenUse use);

  /** Rollout state of a DaemonSet, as JSON (null clears). */
  void putRollout(String namespace, String name, String json);

  /** An event, kept on disk so describe still shows why after a restart. */
  record StoredEvent(String object, long atMillis, String type, String reason, String message) {}

  /** Appends events in one transaction, keeping at most {@code keepPerObject} per object. */
  void putEvents(List<StoredEvent> events, int keepPerObject);

  /** Every stored event, oldest first. */
  List<StoredEvent> events();

  void deleteEvents(String object);

  java.util.Map<String, String> rollouts();

  /**
   * A join token: only a hash of its secret is kept; revokedMillis 0 = not revoked; node "" = any
   * new name; maxUses 0 = unlimited.
   */
  record StoredToken(String id, String secretHash, String description, long createdMillis, long expiresMillis,
      long revokedMillis, int uses, String node, int maxUses) {
    public StoredToken withUses(int n) {
      return new StoredToken(id, secretHash, description, createdMillis, expiresMillis, revokedMillis, n, node, maxUses);
    }

    public StoredToken revokedAt(long millis) {
      return new StoredToken(id, secretHash, description, createdMillis, expiresMillis, millis, uses, node, maxUses);
    }
  }

  void putToken(StoredToken token);

  List<StoredToken> tokens();

  /**
   * A certificate the fleet CA issued (nodes, admins, viewers), kept until it expires so it can be
   * revoked; {@code via} says how it was obtained ("join token ID", "renewal", "dsctl").
   */
  /**
   * A certificate the CA issued. {@code sha256} is the hex SHA-256 of its DER encoding ("" for one
   * issued before it was recorded): a client presenting exactly these bytes presents a certificate
   * this CA signed, without its signature checked again.
   */
  record IssuedCertificate(String serial, String name, String role, long notAfterMillis, long revokedMillis,
      long issuedMillis, String via, String sha256) {
    public IssuedCertificate {
      sha256 = sha256 == null ? "" : sha256; // a log entry written before the field existed
    }

    public IssuedCertificate revokedAt(long millis) {
      return new IssuedCertificate(serial, name, role, notAfterMillis, millis, issuedMillis, via, sha256);
    }
  }

  void putCertificate(IssuedCertificate certificate);

  List<IssuedCertificate> certificates();

  void deleteCertificatesExpiredBefore(long millis);

  int schemaVersion();

  /**
   * The store's identity, sent with every desired set: the same for as long as the store lives (its
   * restarts, every replica of a group), another for a new store and after each restore, so an agent
   * can tell a set from a store that never sent it its pods (docs/agent.md, "Never harm a node"). ""
   * where a store has none.
   */
  default String identity() {
    return "";
  }

  @Override
  void close();
}
