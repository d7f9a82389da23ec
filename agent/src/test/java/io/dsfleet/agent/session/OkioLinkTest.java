package io.dsfleet.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.okhttp.OkHttpChannelBuilder;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * grpc-okhttp is built against okio 3 (Kotlin); the agent runs it on okio 1.17 (Java: no Kotlin
 * standard library, 1.4 MiB less of the agent's RSS; docs/dependencies.md). okio kept its Java
 * API binary-compatible across those lines, so this holds only as long as every okio class, method
 * and field grpc-okhttp's bytecode names exists in the okio on the class path: checked here for
 * every one, so a gRPC upgrade that reaches for an okio 3 API fails the build, not an agent.
 */
class OkioLinkTest {
  @Test
  void everyOkioMemberGrpcOkhttpNamesExistsInTheOkioTheAgentShips() throws Exception {
    Path jar = Path.of(OkHttpChannelBuilder.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    TreeSet<String> references = new TreeSet<>();
    try (JarFile j = new JarFile(jar.toFile())) {
      for (Enumeration<JarEntry> e = j.entries(); e.hasMoreElements(); ) {
        JarEntry entry = e.nextElement();
        if (entry.getName().endsWith(".class")) {
          try (InputStream in = j.getInputStream(entry)) {
            references.addAll(okioReferences(in));
          }
        }
      }
    }
    assertThat(references).as("okio members named by %s", jar).hasSizeGreaterThan(50)
        .contains("okio/Buffer.readByteArray:()[B");
    List<String> missing = new ArrayList<>();
    for (String r : references) {
      if (!resolves(r)) {
        missing.add(r);
      }
    }
    assertThat(missing).as("okio members grpc-okhttp names that the agent's okio lacks").isEmpty();
  }

  @Test
  void theCheckFindsAMemberThatIsNotThere() throws Exception {
    assertThat(resolves("okio/Buffer.readByteArray:()[B")).isTrue();
    assertThat(resolves("okio/Buffer.readByteArray:()Ljava/lang/String;")).isFalse();
    assertThat(resolves("okio/Buffer.noSuchMethod:()V")).isFalse();
    assertThat(resolves("okio/Segment.limit:I")).isTrue();
    assertThat(resolves("okio/NoSuchClass")).isFalse();
  }

  /** "okio/C" for a class, "okio/C.name:descriptor" for a member, found in C or a supertype. */
  static boolean resolves(String reference) {
    int dot = reference.indexOf('.');
    Class<?> c;
    try {
      c = Class.forName((dot < 0 ? reference : reference.substring(0, dot)).replace('/', '.'), false,
          OkioLinkTest.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      return false;
    }
    if (dot < 0) {
      return true;
    }
    String name = reference.substring(dot + 1, reference.indexOf(':'));
    String descriptor = reference.substring(reference.indexOf(':') + 1);
    List<Class<?>> types = new ArrayList<>();
    types.add(c);
    for (int i = 0; i < types.size(); i++) {
      Class<?> t = types.get(i);
      if (name.equals("\"<init>\"")) {
        for (var k : t.getDeclaredConstructors()) {
          if (descriptor.equals(params(k.getParameterTypes()) + "V")) {
            return true;
          }
        }
        return false;
      }
      for (Method m : t.getDeclaredMethods()) {
        if (m.getName().equals(name) && descriptor.equals(params(m.getParameterTypes()) + descriptor(m.getReturnType()))) {
          return true;
        }
      }
      for (Field f : t.getDeclaredFields()) {
        if (f.getName().equals(name) && descriptor.equals(descriptor(f.getType()))) {
          return true;
        }
      }
      if (t.getSuperclass() != null) {
        types.add(t.getSuperclass());
      }
      types.addAll(List.of(t.getInterfaces()));
    }
    return false;
  }

  private static String params(Class<?>[] types) {
    StringBuilder b = new StringBuilder("(");
    for (Class<?> t : types) {
      b.append(descriptor(t));
    }
    return b.append(')').toString();
  }

  private static String descriptor(Class<?> t) {
    return t.isArray() ? t.getName().replace('.', '/')
        : t.isPrimitive() ? switch (t.getName()) {
          case "void" -> "V";
          case "boolean" -> "Z";
          case "byte" -> "B";
          case "char" -> "C";
          case "short" -> "S";
          case "int" -> "I";
          case "long" -> "J";
          case "float" -> "F";
          case "double" -> "D";
          default -> throw new IllegalArgumentException(t.getName());
        }
        : "L" + t.getName().replace('.', '/') + ";";
  }

  /** The okio classes and members a class file's constant pool names (JVMS 4.4). */
  static List<String> okioReferences(InputStream classFile) throws IOException {
    DataInputStream in = new DataInputStream(classFile);
    in.readInt(); // magic
    in.readUnsignedShort();
    in.readUnsignedShort();
    int count = in.readUnsignedShort();
    String[] utf8 = new String[count];
    int[] first = new int[count];
    int[] second = new int[count];
    int[] tag = new int[count];
    for (int i = 1; i < count; i++) {
      tag[i] = in.readUnsignedByte();
      switch (tag[i]) {
        case 1 -> utf8[i] = in.readUTF();
        case 3, 4 -> in.readInt();
        case 5, 6 -> {
          in.readLong();
          i++;
        }
        case 7, 8, 16, 19, 20 -> first[i] = in.readUnsignedShort();
        case 9, 10, 11, 12, 17, 18 -> {
          first[i] = in.readUnsignedShort();
          second[i] = in.readUnsignedShort();
        }
        case 15 -> {
          in.readUnsignedByte();
          first[i] = in.readUnsignedShort();
        }
        default -> throw new IOException("constant pool tag " + tag[i] + " unknown");
      }
    }
    List<String> out = new ArrayList<>();
    for (int i = 1; i < count; i++) {
      if (tag[i] == 7 && utf8[first[i]].startsWith("okio/")) {
        out.add(utf8[first[i]]);
      } else if (tag[i] >= 9 && tag[i] <= 11) {
        String owner = utf8[first[first[i]]];
        if (owner.startsWith("okio/")) {
          int nameAndType = second[i];
          String name = utf8[first[nameAndType]];
          out.add(owner + "." + (name.equals("<init>") ? "\"<init>\"" : name) + ":" + utf8[second[nameAndType]]);
        }
      }
    }
    return out;
  }
}
