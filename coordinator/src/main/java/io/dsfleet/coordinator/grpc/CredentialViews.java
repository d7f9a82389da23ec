package io.dsfleet.coordinator.grpc;

import io.dsfleet.coordinator.fleet.ControlException;
import io.dsfleet.coordinator.store.Store;
import io.dsfleet.proto.v1.JoinTokenView;
import io.grpc.Status;

/** Join tokens and credential roles between the control service's messages and the fleet CA's terms. */
final class CredentialViews {
  private CredentialViews() {}

  /** The certificate role a dsctl role name stands for; node only where {@code nodeToo} (revoking). */
  static String role(String role, boolean nodeToo) {
    return switch (role) {
      case "admin" -> io.dsfleet.common.tls.Pki.ADMINS;
      case "viewer" -> io.dsfleet.common.tls.Pki.VIEWERS;
      case "node" -> {
        if (!nodeToo) {
          throw new ControlException(Status.Code.INVALID_ARGUMENT, "node certificates come from joining, not from dsctl");
        }
        yield io.dsfleet.common.tls.Pki.NODES;
      }
      default -> throw new ControlException(Status.Code.INVALID_ARGUMENT, "role must be admin or viewer" + (nodeToo ? " or node" : "")
          + ", got \"" + role + "\"");
    };
  }

  /** A join token as dsctl lists it: never its secret; {@code expired} as this coordinator judges it (Authority#tokens). */
  static JoinTokenView tokenView(Store.StoredToken t, boolean expired) {
    String state = t.revokedMillis() != 0 ? "revoked" : expired ? "expired" : t.maxUses() > 0 && t.uses() >= t.maxUses() ? "used" : "valid";
    return JoinTokenView.newBuilder().setId(t.id()).setDescription(t.description()).setCreatedMillis(t.createdMillis())
        .setExpiresMillis(t.expiresMillis()).setRevokedMillis(t.revokedMillis()).setUses(t.uses()).setNodeName(t.node())
        .setMaxUses(t.maxUses()).setState(state).build();
  }
}
