/** gRPC adapters around {@link io.dsfleet.coordinator.fleet.Fleet}: protobuf stops here. */
package io.dsfleet.coordinator.grpc;
