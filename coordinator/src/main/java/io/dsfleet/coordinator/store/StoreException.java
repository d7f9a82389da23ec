package io.dsfleet.coordinator.store;

/** A store operation failed; nothing of it was written, unless {@link #mayHaveApplied} says it may have been. */
public class StoreException extends RuntimeException {
  private final boolean mayHaveApplied;

  public StoreException(String message, Throwable cause) {
    this(message, cause, false);
  }

  public StoreException(String message, Throwable cause, boolean mayHaveApplied) {
    super(message, cause);
    this.mayHaveApplied = mayHaveApplied;
  }

  /**
   * The write went to a replicated group, which did not confirm it: it may still commit (no
   * majority answered in time; the leader lost its leadership after proposing it). Before
   * 2026-12-05 the caller was told "nothing applied" and found the object stored (helper-75).
   */
  public boolean mayHaveApplied() {
    return mayHaveApplied;
  }

  /**
   * What a caller of the control API or the Kubernetes API is told of a write the store did not
   * take, with why: that it may have been applied, when it may (a commit whose fsync failed: before
   * 2026-12-05 the Kubernetes API said "did not take the write" of one; helper-94).
   */
  public String told() {
    return (mayHaveApplied ? outcome("") : "the store did not take the write") + ": " + getMessage();
  }

  /** What a caller is told of a refused write: {@code nothing} ("nothing applied"), or that it may have been. */
  public String outcome(String nothing) {
    return mayHaveApplied ? "the store did not confirm the write, which may have been applied: look (dsctl get), then try again"
        : "the store refused the write, " + nothing;
  }
}
