package io.dsfleet.agent.session;

import io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the session does when the coordinator refuses the node's certificate (UNAUTHENTICATED): with
 * a join token, the next try joins with it, and the certificate is kept ({@link
 * NodeCredentials#setAside}) until the token gives a new one; a token join that fails puts the
 * certificate back for the try after ({@link NodeCredentials#takeBack}). A refusal says what the
 * coordinator's store holds now, and a store restored from an older backup (no record of a
 * certificate renewed since: revoked, to it), or one started on the wrong data directory with the
 * fleet's CA copied there, refuses a valid certificate until the operator puts the right store
 * back. Until 2026-12-06 the first refusal deleted the certificate, and every agent with a join
 * token was then locked out of the right store for good (its token refused: the node a member),
 * each needing a token an admin made for its name.
 */
final class CertificateRefusals {
  // its lines under the session's name, as before they moved here: a level set for that logger still covers them
  private static final Logger log = LoggerFactory.getLogger(CoordinatorSession.class);
  private final NodeCredentials credentials;
  private final CoordinatorChannel channel;
  private final String node;

  CertificateRefusals(NodeCredentials credentials, CoordinatorChannel channel, String node) {
    this.credentials = credentials;
    this.channel = channel;
    this.node = node;
  }

  /**
   * A call ended with {@code status}: when it refused the node's certificate, says what to do and
   * returns true (the session joins again: with the token if there is one, else with the
   * certificate, which the operator's action may make good again).
   */
  boolean certificateRefused(Status status) {
    if (status.getCode() != Status.Code.UNAUTHENTICATED || credentials.isInsecure() || !credentials.hasCertificate()) {
      return false;
    }
    if (credentials.hasToken()) {
      log.warn("the coordinator refused this node's certificate ({}); joining again with the join token (the certificate is kept"
          + " until the token gives a new one)", status.getDescription());
      credentials.setAside();
      channel.reset();
    } else {
      log.error("the coordinator refused this node's certificate ({}); configure a join token to join again",
          status.getDescription());
    }
    return true;
  }

  /**
   * A join that failed ({@code status}, or null for a failure that is no status); when it was a
   * join with the token after the certificate was refused, the next try uses the certificate again.
   */
  void joinFailed(boolean withToken, Status status) {
    if (withToken && credentials.takeBack()) {
      channel.reset();
      log.warn("the join with the join token failed too{}; this node's certificate is kept and tried again at the next try"
          + " (a coordinator restored from an older backup, or started on the wrong data directory, refuses it until the"
          + " right store serves again; otherwise an admin makes this node a token: dsctl token create --node {})",
          status == null ? "" : " (" + status.getCode() + ")", node);
    }
  }
}
