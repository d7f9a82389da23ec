package io.dsfleet.coordinator;

import io.grpc.HandlerRegistry;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.util.MutableHandlerRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The services of a coordinator whose bindings come and go (a replica binds them to a new fleet
 * each time it leads). Every method of dsfleet's services always resolves, so a call reaches the
 * interceptors (the {@link LeaderGate} names the leader) instead of ending UNIMPLEMENTED; while
 * nothing is bound it ends UNAVAILABLE.
 */
final class ServingRegistry extends HandlerRegistry {
  private final MutableHandlerRegistry bound = new MutableHandlerRegistry();
  private final Map<String, ServerMethodDefinition<?, ?>> unbound = new HashMap<>();

  ServingRegistry(List<ServiceDescriptor> services) {
    for (ServiceDescriptor s : services) {
      for (MethodDescriptor<?, ?> m : s.getMethods()) {
        unbound.put(m.getFullMethodName(), unavailable(m));
      }
    }
  }

  private static <Q, R> ServerMethodDefinition<Q, R> unavailable(MethodDescriptor<Q, R> method) {
    ServerCallHandler<Q, R> handler = (ServerCall<Q, R> call, Metadata headers) -> {
      call.close(Status.UNAVAILABLE.withDescription("this coordinator does not serve now; retry"), new Metadata());
      return new ServerCall.Listener<>() {};
    };
    return ServerMethodDefinition.create(method, handler);
  }

  void bind(ServerServiceDefinition service) {
    bound.addService(service);
  }

  void unbind(ServerServiceDefinition service) {
    bound.removeService(service);
  }

  @Override
  public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
    ServerMethodDefinition<?, ?> m = bound.lookupMethod(methodName, authority);
    return m != null ? m : unbound.get(methodName);
  }

  @Override
  public List<ServerServiceDefinition> getServices() {
    return bound.getServices();
  }
}
