package io.dsfleet.coordinator.kubeapi;

import io.dsfleet.coordinator.http.Turns;
import java.time.Duration;

/**
 * The Kubernetes API's stream slots (watches, and followed logs: {@link KubeLogFollow}), each a
 * thread of the listener while its stream lasts (a `kubectl get -w` or `logs -f` 30 minutes): {@link KubeWatch#MAX_WATCHES} in all, {@link
 * KubeWatch#PER_CREDENTIAL} per credential, and viewers' credentials together at most {@link
 * #VIEWERS}, so the last {@link #KEPT_FOR_ADMINS} stay for admins' `kubectl rollout status` and
 * informers however many viewer credentials watch. Taken at once or not at all.
 *
 * <p>Before 2026-12-06 three viewer credentials held all sixteen, and since watches last 30 minutes
 * (before, 25 s) that took no more than three people each leaving six `kubectl get -w` open: an
 * admin's rollout status was refused (429) meanwhile.
 */
final class WatchSlots {
  /** Slots no viewer credential takes. */
  static final int KEPT_FOR_ADMINS = 4;
  /** Slots viewers' credentials hold together at most. */
  static final int VIEWERS = KubeWatch.MAX_WATCHES - KEPT_FOR_ADMINS;

  private final Turns all = new Turns(KubeWatch.MAX_WATCHES, KubeWatch.PER_CREDENTIAL, Duration.ZERO);
  private final Turns viewers = new Turns(VIEWERS, KubeWatch.PER_CREDENTIAL, Duration.ZERO);

  /**
   * A slot for {@code who} ("admin/NAME", "viewer/NAME"), or null (then say why: {@link #refusal}).
   */
  Turns.Turn take(String who) throws InterruptedException {
    if (!who.startsWith("viewer/")) {
      return all.take(who);
    }
    Turns.Turn asViewer = viewers.take(who);
    if (asViewer == null) {
      return null;
    }
    Turns.Turn slot = null;
    try {
      slot = all.take(who);
    } finally {
      if (slot == null) { // none free, or the wait interrupted: the viewers' share is not kept
        asViewer.close();
      }
    }
    if (slot == null) {
      return null;
    }
    Turns.Turn taken = slot;
    return () -> { // each closes once however often this is closed (Turns)
      taken.close();
      asViewer.close();
    };
  }

  /** Watches open under {@code who}. */
  int held(String who) {
    return all.held(who);
  }

  /** Why a slot was refused. */
  static String refusal() {
    return "too many watches and followed logs at once (" + KubeWatch.MAX_WATCHES + " in all, " + VIEWERS + " of viewers' credentials, "
        + KubeWatch.PER_CREDENTIAL + " per credential); try again shortly";
  }
}
