package io.dsfleet.coordinator.cli;

import io.dsfleet.common.OwnerOnlyFiles;
import io.dsfleet.proto.v1.ControlServiceGrpc;
import io.dsfleet.proto.v1.IssueCredentialRequest;
import io.dsfleet.proto.v1.RevokeCredentialRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** `dsctl credential create|revoke`: dsctl credentials (admin credential). */
@Command(name = "credential", description = "dsctl credentials: create one (admin or read-only viewer), revoke one.",
    subcommands = {CredentialCommand.Create.class, CredentialCommand.Revoke.class})
public final class CredentialCommand {
  private CredentialCommand() {}

  @Command(name = "create", description = "Issue a credential (certificate, key and CA in one PEM file, mode 0600).")
  public static final class Create extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--role", defaultValue = "viewer", description = "admin or viewer (read-only: get, describe, events, logs,"
        + " rollout status/history, replica list, dashboard; default ${DEFAULT-VALUE}).")
    String role;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", required = true, description = "Where to write it (must not exist).")
    Path output;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      if (Files.exists(output)) {
        throw new UsageException(output + " exists; choose another file");
      }
      var r = control.issueCredential(IssueCredentialRequest.newBuilder().setName(name).setRole(role).build());
      OwnerOnlyFiles.write(output, r.getPemBundle());
      out().println(role + " credential " + name + " written to " + output);
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke every certificate of a name and role (admin, viewer, or node).")
  public static final class Revoke extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Option(names = "--role", required = true, description = "admin, viewer or node.")
    String role;

    @Override
    protected int run(ControlServiceGrpc.ControlServiceBlockingStub control) {
      var r = control.revokeCredential(RevokeCredentialRequest.newBuilder().setName(name).setRole(role).build());
      out().println(r.getRevoked() + (r.getRevoked() == 1 ? " certificate" : " certificates") + " of " + role + " " + name + " revoked");
      return 0;
    }
  }
}
