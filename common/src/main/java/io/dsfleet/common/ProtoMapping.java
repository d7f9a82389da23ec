package io.dsfleet.common;

import io.dsfleet.common.model.Taint;
import java.time.Instant;
import java.util.List;

/** Mapping between wire messages and domain records; protobuf stops at the gRPC boundary. */
public final class ProtoMapping {
  private ProtoMapping() {}

  public static Taint taint(io.dsfleet.proto.v1.Taint t) {
    return new Taint(t.getKey(), t.getValue(), t.getEffect(),
        t.getTimeAddedMillis() == 0 ? null : Instant.ofEpochMilli(t.getTimeAddedMillis()));
  }

  public static io.dsfleet.proto.v1.Taint taint(Taint t) {
    return io.dsfleet.proto.v1.Taint.newBuilder().setKey(t.key()).setValue(t.value()).setEffect(t.effect())
        .setTimeAddedMillis(t.timeAdded() == null ? 0 : t.timeAdded().toEpochMilli()).build();
  }

  public static List<Taint> taints(List<io.dsfleet.proto.v1.Taint> taints) {
    return taints.stream().map(ProtoMapping::taint).toList();
  }

  public static List<io.dsfleet.proto.v1.Taint> toProto(List<Taint> taints) {
    return taints.stream().map(ProtoMapping::taint).toList();
  }
}
