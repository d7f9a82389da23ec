package io.dsfleet.coordinator.replication;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/** The Raft server's settings of a {@link Replica}: where its log lies, where it listens, its timers, snapshots and retries. */
final class RaftSettings {
  private RaftSettings() {}

  /** How long a member being added may not answer the leader at all before the change fails (Raft's staging timeout). */
  static final java.time.Duration STAGING_TIMEOUT = java.time.Duration.ofMinutes(2);

  static RaftProperties properties(ReplicationOptions options, Path dataDir) {
    RaftProperties props = new RaftProperties();
    RaftServerConfigKeys.setStorageDir(props, List.of(dataDir.resolve("raft").toFile()));
    String listen = options.self().peerAddress();
    int colon = listen.lastIndexOf(':');
    GrpcConfigKeys.Server.setHost(props, listen.substring(0, colon));
    GrpcConfigKeys.Server.setPort(props, Integer.parseInt(listen.substring(colon + 1)));
    long election = options.electionTimeout().toMillis();
    RaftServerConfigKeys.Rpc.setTimeoutMin(props, TimeDuration.valueOf(election, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(props, TimeDuration.valueOf(2 * election, TimeUnit.MILLISECONDS));
    // a leader that has not heard from a majority for two election timeouts (the longest one) steps down and stops serving
    RaftServerConfigKeys.LeaderElection.setLeaderStepDownWaitTime(props, TimeDuration.valueOf(2 * election, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.LeaderElection.setPreVote(props, true);
    // A follower whose election-timeout sleep overran by more than this skips that round (it may have
    // been paused, not the leader silent): with Ratis' 300 ms a follower starved of CPU (a loaded
    // host) can sit out round after round (the likely cause of a 10 s election seen in CI); one
    // election timeout still catches a long pause.
    RaftServerConfigKeys.setSleepDeviationThreshold(props, TimeDuration.valueOf(election, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Read.setOption(props, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(props, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(props, options.snapshotEvery());
    RaftServerConfigKeys.Snapshot.setCreationGap(props, 1);
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(props, 2);
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(props, true);
    RaftServerConfigKeys.Log.setPurgeGap(props, (int) Math.min(options.snapshotEvery(), 1024));
    RaftServerConfigKeys.Log.setSegmentSizeMax(props, SizeInBytes.valueOf(options.logSegmentBytes()));
    // a crash and a stop restart the same way (from the last snapshot, replaying the log after it)
    RaftServerConfigKeys.Snapshot.setTriggerWhenStopEnabled(props, false);
    // A leader retries a follower it cannot reach 10 times at once, then once a second (Ratis' default
    // goes to once every 5 s after 30 failures): a replica restarted after a minute away was caught up
    // 11 s after it answered the leader (two waits of 5 s), now within about a second. The count is
    // never used up (past it Ratis would retry without waiting).
    RaftServerConfigKeys.Log.Appender.setRetryPolicy(props, "1ms,10, 1s,100000000");
    // a member being added that does not answer the leader for this long fails the change (MemberNotAnswering)
    RaftServerConfigKeys.setStagingTimeout(props, TimeDuration.valueOf(STAGING_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
    return props;
  }
}
