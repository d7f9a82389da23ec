package io.dsfleet.coordinator.grpc;

import com.google.protobuf.ByteString;
import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.replication.Replica;
import io.dsfleet.coordinator.replication.ReplicationOptions;
import io.dsfleet.coordinator.security.Authority;
import io.dsfleet.coordinator.store.SqliteStore;
import io.dsfleet.proto.v1.ReplicaJoinChunk;
import io.dsfleet.proto.v1.ReplicaJoinRequest;
import io.dsfleet.proto.v1.ReplicaMember;
import io.dsfleet.proto.v1.ReplicaServiceGrpc;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's side of a replica joining: checks the token, sends the CA, the Secrets key, the
 * members and a copy of the store, then adds the replica to the group once it runs (Raft catches
 * it up from the copy's log position; {@link ReplicaAdds}). A replica that is a member already (its data was lost) is
 * taken out of the group first: a replica that forgot its votes must not vote as if it had not.
 */
public final class ReplicaServiceImpl extends ReplicaServiceGrpc.ReplicaServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(ReplicaServiceImpl.class);
  private static final int CHUNK = 1 << 20;

  private final Replica replica;
  private final Authority authority;
  private final Path dataDir;
  private final ExecutorService background;
  private final ReplicaAdds adds;

  public ReplicaServiceImpl(Replica replica, ReplicaAdds adds, Authority authority, Path dataDir, ExecutorService background) {
    this.replica = replica;
    this.adds = adds;
    this.authority = authority;
    this.dataDir = dataDir;
    this.background = background;
  }

  @Override
  public void join(ReplicaJoinRequest req, StreamObserver<ReplicaJoinChunk> out) {
    Path copy = null;
    try {
      ReplicationOptions.Peer joining = ReplicationOptions.Peer.parse(req.getId() + "," + req.getPeerAddress() + ","
          + req.getCoordinatorAddress());
      Authority.ReplicaMaterial material = authority.admitReplica(req.getToken(), joining.id());
      if (joining.id().equals(replica.id())) {
        throw new ControlException(Status.Code.FAILED_PRECONDITION, "replica " + joining.id() + " is the leader answering this join");
      }
      List<ReplicationOptions.Peer> members = replica.members();
      if (members.stream().anyMatch(p -> p.id().equals(joining.id()))) {
        // only then the membership lock: a new replica's join must not wait for another's catching up
        log.warn("replica {} joins again: taking it out of the group until it caught up", joining.id());
        members = replica.changeMembers(now -> {
          now.removeIf(p -> p.id().equals(joining.id()));
          return now;
        });
      }
      copy = Files.createTempFile(dataDir, "join-", ".db");
      Files.delete(copy);
      replica.copyStore(copy);
      ReplicaJoinChunk.Builder first = ReplicaJoinChunk.newBuilder().setCaPem(material.caPem()).setCaKeyPem(material.caKeyPem())
          .setSecretsKey(ByteString.copyFrom(Files.readAllBytes(SqliteStore.secretsKey(dataDir))));
      for (ReplicationOptions.Peer p : members) {
        first.addMembers(ReplicaMember.newBuilder().setId(p.id()).setPeerAddress(p.peerAddress()).setCoordinatorAddress(p.coordinatorAddress()));
      }
      first.addMembers(ReplicaMember.newBuilder().setId(joining.id()).setPeerAddress(joining.peerAddress())
          .setCoordinatorAddress(joining.coordinatorAddress()));
      out.onNext(first.build());
      try (InputStream in = Files.newInputStream(copy)) {
        byte[] buf = new byte[CHUNK];
        for (int n; (n = in.readNBytes(buf, 0, CHUNK)) > 0; ) {
          out.onNext(ReplicaJoinChunk.newBuilder().setStore(ByteString.copyFrom(buf, 0, n)).build());
        }
      }
      out.onCompleted();
      background.execute(adds.begin(joining)); // listed on this thread: a removal right after the join ends its add
    } catch (ControlException e) {
      out.onError(e.toStatus());
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
    } catch (IOException | RuntimeException e) {
      log.error("replica join of {} failed", req.getId(), e);
      out.onError(Status.UNAVAILABLE.withDescription("the join failed: " + e.getMessage()).asRuntimeException());
    } finally {
      if (copy != null) {
        try {
          Files.deleteIfExists(copy);
        } catch (IOException ignored) {
          // a temporary file in the data directory; the next join makes another
        }
      }
    }
  }
}
