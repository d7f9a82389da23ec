package io.dsfleet.agent.runtime;

/** A container of that name exists already. The agent picks another name; it never removes the holder. */
public final class NameConflictException extends RuntimeException {
  public NameConflictException(String name, Throwable cause) {
    super("a container named " + name + " exists already", cause);
  }
}
