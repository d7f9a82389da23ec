package io.dsfleet.agent.runtime;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * One stream of a container's log (its stdout, its stderr, or a terminal's one) cut into lines as
 * Docker's frames come. A frame ends wherever Docker cut the stream (a terminal's reads, about a
 * KiB; a long line's 16 KiB pieces), so the text is decoded across frames: decoded alone, a
 * character cut between two came as two or three U+FFFD. Bytes that are no UTF-8 still come as
 * U+FFFD. A stream that never prints a newline is passed on in pieces of {@code max} characters.
 */
final class LogLines {
  private final int max;
  private final Consumer<String> line;
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPLACE)
      .onUnmappableCharacter(CodingErrorAction.REPLACE);
  /** The bytes of a character the last frame cut (at most 3), then the next frame's. */
  private ByteBuffer bytes = ByteBuffer.allocate(0);
  private final StringBuilder partial = new StringBuilder();

  LogLines(int max, Consumer<String> line) {
    this.max = max;
    this.line = line;
  }

  void frame(byte[] payload) {
    ByteBuffer in = ByteBuffer.allocate(bytes.remaining() + payload.length).put(bytes).put(payload).flip();
    CharBuffer out = CharBuffer.allocate(in.remaining() + 1);
    decoder.decode(in, out, false);
    bytes = in; // what is left: a character not whole yet
    take(out.flip());
  }

  /** The stream ended: what it left without a newline is a line too. */
  void end() {
    CharBuffer out = CharBuffer.allocate(bytes.remaining() + 1);
    decoder.decode(bytes, out, true);
    decoder.flush(out);
    take(out.flip());
    if (partial.length() > 0) {
      line.accept(partial.toString());
      partial.setLength(0);
    }
  }

  private void take(CharSequence chunk) {
    int from = 0;
    for (int i = 0; i < chunk.length(); i++) {
      if (chunk.charAt(i) == '\n') {
        partial.append(chunk, from, i);
        line.accept(partial.toString());
        partial.setLength(0);
        from = i + 1;
      }
    }
    partial.append(chunk, from, chunk.length());
    // a container that never prints a newline must not grow a line without end
    while (partial.length() >= max) {
      line.accept(partial.substring(0, max));
      partial.delete(0, max);
    }
  }
}
